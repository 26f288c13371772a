"""The ``yahoo`` data source: closed bars from Yahoo Finance's chart API, polled after each close.

Warm-up is ``lookback_bars`` closed bars (as many as Yahoo serves for the interval); then the
source sleeps until the next bar closes (plus ``poll_delay`` seconds, Yahoo publishing a bar a
moment after its close), asks for the bars since the last one delivered, and delivers those that
have closed: the row Yahoo returns for the bar still forming never is. 3m bars are built from
1m bars and 2h 4h 6h 12h from 1h bars, as ``feeds.resample`` builds them in replay.

Market hours: between sessions (nights, weekends, holidays) no bar is expected, so none is
missed and nothing is reported; the source sleeps until the next session Yahoo announces
(re-asking at most every ``CLOSED_WAIT`` seconds while none is). Errors (rate limiting, an
unreadable answer, Yahoo unreachable) are retried with backoff capped at ``retry_interval``;
afterwards the bars missed meanwhile are delivered in order, each once. A symbol Yahoo does not
know stops the source at once with an error naming it.
States: DELAYED (history) -> LIVE -> CONNBROKEN (failing) -> DELAYED (catching up) -> LIVE.
"""
from __future__ import annotations

import asyncio
import logging

from feeds.live import DELAYED, LIVE, BarSink
from feeds.resample import bucket_start
from feeds.venue_source import VenueBarSource
from trading.core.errors import VenueError
from trading.core.timeutil import DAY_SECONDS, iso_z
from trading.core.types import Bar
from trading.venues.yahoo.bars import closed_bars, fetch_closed_bars
from trading.venues.yahoo.chart import Chart, UnknownSymbol
from trading.venues.yahoo.connection import YahooVenue
from trading.venues.yahoo.intervals import yahoo_interval

log = logging.getLogger(__name__)

CLOSED_WAIT = 900.0  # seconds between polls while the market is closed and no session is known
MISSING_WAIT_CAP = 60.0  # a bar due but not published yet: asked again at most this far apart
TRADING_DAY_SHARE = 5.0  # calendar time per trading time of a market open 6.5 h on weekdays


class YahooBarSource(VenueBarSource):
    """Closed bars of ``symbol`` at ``interval`` from ``venue`` (see the module docstring)."""

    market_closes = True  # gaps between live bars are the market's hours, not missed bars

    def __init__(self, venue: YahooVenue, symbol: str, interval: str, lookback_bars: int,
                 retry_interval: float, poll_delay: float = 5.0,
                 resume_after_ts: float | None = None) -> None:
        self.symbol = symbol.upper()
        self.interval = interval
        self.yahoo = yahoo_interval(interval)
        self.step = float(self.yahoo.seconds)
        super().__init__(venue, key=f"chart {self.symbol} {interval}",
                         label=f"yahoo {self.symbol} {interval}", lookback_bars=lookback_bars,
                         retry_interval=retry_interval, resume_after_ts=resume_after_ts)
        self.poll_delay = max(0.0, float(poll_delay))
        self._misses = 0
        self.polls = 0

    def describe(self) -> str:
        built = f", built from {self.yahoo.base} bars" if self.yahoo.resampled else ""
        return (f"yahoo {self.symbol} {self.interval} bars{built} ({self.lookback_bars} history, "
                f"polled {self.poll_delay:g}s after each close, {self.venue.describe()})")

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, sink: BarSink) -> None:
        """History, then each bar as it closes, until cancelled or the feed stops taking bars.

        Raises UnknownSymbol (a VenueError naming the symbol) when Yahoo does not know it."""
        await self.set_state(sink, DELAYED)
        chart = await self._fetch(sink, probe=True)
        await self._warm_up(sink, chart.server_time)
        await self.set_state(sink, LIVE)
        chart = None
        while True:
            await self._wait_for_next_bar(chart)
            chart = await self._poll(sink)

    async def _warm_up(self, sink: BarSink, now: float) -> None:
        wanted = self.lookback_bars
        start = self._history_start(now, wanted)
        if self._resume_ts is not None:
            start = min(start, self._history_start(self._resume_ts, wanted))
        start = max(start, self._oldest(now))
        bars = await self._closed_bars(sink, start)
        if len(bars) < wanted and start > self._oldest(now):  # a market closed longer than guessed
            bars = await self._closed_bars(sink, self._oldest(now))
        if self._resume_ts is None and len(bars) < wanted:
            log.warning("%s: Yahoo served %d of the %d history bar(s) asked for (data.lookback_"
                        "bars); warming up on those", self.label, len(bars), wanted)
        await self.warm_up(sink, bars)

    async def _poll(self, sink: BarSink) -> Chart:
        """Deliver every bar closed since the last one delivered; returns the answer."""
        self.polls += 1
        now = self.venue.now()
        if self.last_ts is None:
            start = now - 2 * self.step
        else:  # a daily row is stamped at its session's start, which can be the day before in UTC
            start = self.last_ts + self.step - (0 if self.yahoo.intraday else DAY_SECONDS)
        chart = await self._fetch(sink, start=start)
        bars = self._bars(chart)
        fresh = [b for b in bars if self.last_ts is None or b.ts > self.last_ts]
        if len(fresh) > 1:
            log.info("%s: %d bar(s) %s to %s caught up", self.label, len(fresh),
                     iso_z(fresh[0].ts), iso_z(fresh[-1].ts))
        for bar in fresh:
            await self.deliver(sink, bar)
        await self.set_state(sink, LIVE)
        self._misses = 0 if fresh else self._misses + 1
        return chart

    # -- when to ask next ----------------------------------------------------------------------
    async def _wait_for_next_bar(self, chart: Chart | None) -> None:
        """Sleep until the next bar should be out (never longer than the venue's ``max_wait``
        at a time: the clock is Yahoo's and is re-read at each answer)."""
        now = self.venue.now()
        due = self._next_due(chart, now)
        wait = due - now
        if wait <= 0:  # due already (or not known): a bar not yet published, or catching up
            wait = min(MISSING_WAIT_CAP, self.retry_interval, max(self.poll_delay, 1.0)
                       * 2 ** min(self._misses, 10)) if self._misses else 0.0
        await asyncio.sleep(min(wait, self.venue.max_wait))

    def _next_due(self, chart: Chart | None, now: float) -> float:
        """When the next bar is out: its close (by the session) plus the poll delay."""
        if chart is None or self.last_ts is None:
            return now
        session = chart.current
        if not self.yahoo.intraday:
            if self.yahoo.base == "1w":
                return self.last_ts + 2 * self.step + self.poll_delay
            if session is not None and now < session.end:
                return session.end + self.poll_delay
            return self._closed_market(now)
        opens = self.last_ts + self.step
        if session is not None:
            if now >= session.end and opens + self.step > now:
                return min(opens + self.step + self.poll_delay, now + CLOSED_WAIT)
            if now >= session.end:
                return self._closed_market(now)
            opens = max(opens, session.start)
        closes = opens + self.step
        if self.yahoo.resampled:
            opens = bucket_start(opens, self.step)
            # the last finer bar opening in the bucket closes after it when the session's bars
            # are offset from the hour (14:30, 15:30 ...: the 16:00-18:00 bar waits for 18:30)
            base = self.yahoo.base_seconds
            offset = (session.start % base) if session is not None else 0.0
            closes = opens + self.step + offset
        if session is not None and session.start <= opens < session.end < closes:
            closes = session.end  # the session's last bar is shorter
        return closes + self.poll_delay

    def _closed_market(self, now: float) -> float:
        if self._misses <= 1:
            log.info("%s: market closed; asking Yahoo again every %gs until the next session is "
                     "announced", self.label, CLOSED_WAIT)
        return now + CLOSED_WAIT

    # -- fetching --------------------------------------------------------------------------------
    async def _closed_bars(self, sink: BarSink, start: float) -> list[Bar]:
        """Every closed bar from ``start`` to now (in pieces where Yahoo limits a request)."""
        async def fetch(at: float, upto: float | None) -> Chart:
            return await self._fetch(sink, start=at, end=upto)
        return await fetch_closed_bars(fetch, self.yahoo, start, None, self.venue.now())

    def _bars(self, chart: Chart) -> list[Bar]:
        return closed_bars(chart, self.yahoo)

    async def _fetch(self, sink: BarSink, start: float | None = None, end: float | None = None,
                     probe: bool = False) -> Chart:
        """One chart answer, retried with backoff (capped at ``retry_interval``) until it comes;
        UnknownSymbol is not retried."""
        attempt = 0
        while True:
            try:
                if probe:
                    chart = await self.venue.probe(self.symbol, self.yahoo)
                else:
                    chart = await self.venue.fetch_chart(self.symbol, self.yahoo, start, end)
                break
            except UnknownSymbol:
                raise
            except VenueError as exc:
                attempt += 1
                await self.backing_off(sink, attempt, exc)
        if attempt:
            log.info("%s: Yahoo answers again after %d failed attempt(s)", self.label, attempt)
            await self.set_state(sink, DELAYED)  # catching up on what closed meanwhile
        return chart

    def _history_start(self, end: float, bars: int) -> float:
        """How far back ``bars`` closed bars before ``end`` begin, with room for closed hours."""
        span = (bars + 2) * self.step
        if self.yahoo.intraday:
            return end - span * TRADING_DAY_SHARE - 4 * DAY_SECONDS
        return end - span * 1.5 - 10 * DAY_SECONDS

    def _oldest(self, now: float) -> float:
        days = self.yahoo.history_days
        return now - days * DAY_SECONDS if days is not None else 0.0

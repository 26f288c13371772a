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

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink, SinkClosed
from feeds.resume import put_history, split_resumed
from feeds.resample import bucket_start
from feeds.yahoo_bars import closed_bars, fetch_closed_bars
from trading.core.errors import VenueError
from trading.core.timeutil import DAY_SECONDS, iso_z
from trading.core.types import Bar
from trading.venues.yahoo.chart import Chart, UnknownSymbol
from trading.venues.yahoo.connection import YahooVenue
from trading.venues.yahoo.intervals import yahoo_interval

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.25
CLOSED_WAIT = 900.0  # seconds between polls while the market is closed and no session is known
MISSING_WAIT_CAP = 60.0  # a bar due but not published yet: asked again at most this far apart
TRADING_DAY_SHARE = 5.0  # calendar time per trading time of a market open 6.5 h on weekdays
STATE_NAMES = {DELAYED: "DELAYED", LIVE: "LIVE", CONNBROKEN: "CONNBROKEN"}


class YahooBarSource:
    """Closed bars of ``symbol`` at ``interval`` from ``venue`` (see the module docstring).

    ``resume_after(ts)``: the last bar a previous run traded. Bars after it that are still within
    ``lookback_bars`` of now are delivered as live bars (the bot trades them); older ones are
    history.
    """

    market_closes = True  # gaps between live bars are the market's hours, not missed bars

    def __init__(self, venue: YahooVenue, symbol: str, interval: str, lookback_bars: int,
                 retry_interval: float, poll_delay: float = 5.0,
                 resume_after_ts: float | None = None) -> None:
        self.venue = venue
        self.symbol = symbol.upper()
        self.interval = interval
        self.yahoo = yahoo_interval(interval)
        self.step = float(self.yahoo.seconds)
        self.lookback_bars = max(0, int(lookback_bars))
        self.retry_interval = max(float(retry_interval), FIRST_RETRY_SECONDS)
        self.poll_delay = max(0.0, float(poll_delay))
        self._resume_ts: float | None = None
        self._last_ts: float | None = None  # open time of the last bar delivered
        self._state: int | None = None
        self._misses = 0
        self.polls = 0
        self.resume_after(resume_after_ts)

    def resume_after(self, ts: float | None) -> None:
        """Continue after the bar at ``ts`` (None: a first run)."""
        self._resume_ts = ts

    def describe(self) -> str:
        built = f", built from {self.yahoo.base} bars" if self.yahoo.resampled else ""
        return (f"yahoo {self.symbol} {self.interval} bars{built} ({self.lookback_bars} history, "
                f"polled {self.poll_delay:g}s after each close, {self.venue.describe()})")

    # -- the run -------------------------------------------------------------------------------
    async def run(self, sink: BarSink) -> None:
        """History, then each bar as it closes, until cancelled or the feed stops taking bars.

        Raises UnknownSymbol (a VenueError naming the symbol) when Yahoo does not know it."""
        try:
            await self._set(sink, DELAYED)
            chart = await self._fetch(sink, probe=True)
            await self._warm_up(sink, chart.server_time)
            await self._set(sink, LIVE)
            chart = None
            while True:
                await self._wait_for_next_bar(chart)
                chart = await self._poll(sink)
        except SinkClosed:
            log.debug("%s: the feed stopped", self.describe())
        finally:
            self.venue.stream_states[self._key()] = "stopped"

    async def _warm_up(self, sink: BarSink, now: float) -> None:
        wanted = self.lookback_bars
        start = self._history_start(now, wanted)
        if self._resume_ts is not None:
            start = min(start, self._history_start(self._resume_ts, wanted))
        start = max(start, self._oldest(now))
        bars = await self._closed_bars(sink, start)
        if len(bars) < wanted and start > self._oldest(now):  # a market closed longer than guessed
            bars = await self._closed_bars(sink, self._oldest(now))
        if self._resume_ts is None:
            history = bars[-wanted:] if wanted else []
            live: list[Bar] = []
            if len(history) < wanted:
                log.warning("%s: Yahoo served %d of the %d history bar(s) asked for (data.lookback_"
                            "bars); warming up on those", self._label(), len(history), wanted)
        else:
            history, live = split_resumed(bars, self._resume_ts, wanted, self._label())
        await put_history(sink, history, self._label())
        if history:
            self._last_ts = history[-1].ts
        elif bars and not live:  # no warm-up asked for: the bars closed before now are not news
            self._last_ts = bars[-1].ts
        for bar in live:
            await self._deliver(sink, bar)

    async def _poll(self, sink: BarSink) -> Chart:
        """Deliver every bar closed since the last one delivered; returns the answer."""
        self.polls += 1
        now = self.venue.now()
        if self._last_ts is None:
            start = now - 2 * self.step
        else:  # a daily row is stamped at its session's start, which can be the day before in UTC
            start = self._last_ts + self.step - (0 if self.yahoo.intraday else DAY_SECONDS)
        chart = await self._fetch(sink, start=start)
        bars = self._bars(chart)
        fresh = [b for b in bars if self._last_ts is None or b.ts > self._last_ts]
        if len(fresh) > 1:
            log.info("%s: %d bar(s) %s to %s caught up", self._label(), len(fresh),
                     iso_z(fresh[0].ts), iso_z(fresh[-1].ts))
        for bar in fresh:
            await self._deliver(sink, bar)
        if self._state != LIVE:
            await self._set(sink, LIVE)
        self._misses = 0 if fresh else self._misses + 1
        return chart

    async def _deliver(self, sink: BarSink, bar: Bar) -> None:
        if self._last_ts is not None and bar.ts <= self._last_ts:
            return  # already delivered
        await sink.put_bar(bar)
        self._last_ts = bar.ts

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
        if chart is None or self._last_ts is None:
            return now
        session = chart.current
        if not self.yahoo.intraday:
            if self.yahoo.base == "1w":
                return self._last_ts + 2 * self.step + self.poll_delay
            if session is not None and now < session.end:
                return session.end + self.poll_delay
            return self._closed_market(now)
        opens = self._last_ts + self.step
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
                     "announced", self._label(), CLOSED_WAIT)
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
        broken = False
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
                wait = min(self.retry_interval, FIRST_RETRY_SECONDS * 2 ** attempt)
                log.warning("%s: %s; trying again in %.1fs", self._label(), exc, wait)
                if not broken:
                    broken = True
                    await self._set(sink, CONNBROKEN)
                await asyncio.sleep(wait)
        if broken:
            log.info("%s: Yahoo answers again after %d failed attempt(s)", self._label(), attempt)
            await self._set(sink, DELAYED)  # catching up on what closed meanwhile
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

    # -- states --------------------------------------------------------------------------------
    async def _set(self, sink: BarSink, state: int) -> None:
        if state == self._state:
            return
        self._state = state
        await sink.put_status(state)
        self.venue.stream_states[self._key()] = STATE_NAMES[state]

    def _key(self) -> str:
        return f"chart {self.symbol} {self.interval}"

    def _label(self) -> str:
        return f"yahoo {self.symbol} {self.interval}"

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

A basket is polled once per bar for all its symbols (``YahooVenue.fetch_charts``: every
symbol's chart in one round), when the first of them has a bar due by its own market's hours: a
stock's nights and weekends do not hold back a pair that trades around the clock. The answers of
a round come a moment apart, while bars may close in between; so a round delivers, in time order,
the bars up to its horizon (what had closed, and been out ``poll_delay`` seconds, when the
first answer came) and marks every time up to it complete (``BarSink.step_done``): a symbol
without a bar there has none (its market is closed, nothing traded), and the basket's step runs
at once. A bar after the horizon waits for the next round, so no symbol's bar ever arrives after
a later one of another (which would close its step without it).
"""
from __future__ import annotations

import asyncio
import logging
import math
from typing import Sequence

from feeds.live import DELAYED, LIVE, BarSink
from feeds.resample import bucket_start
from feeds.venue_source import VenueBarSource
from trading.core.errors import VenueError
from trading.core.timeutil import DAY_SECONDS, iso_z
from trading.core.types import Bar
from trading.venues.yahoo.bars import closed_bars, fetch_closed_bars
from trading.venues.yahoo.chart import CLOSE_MARGIN, Chart, UnknownSymbol
from trading.venues.yahoo.connection import YahooVenue
from trading.venues.yahoo.intervals import yahoo_interval

log = logging.getLogger(__name__)

CLOSED_WAIT = 900.0  # seconds between polls while the market is closed and no session is known
MISSING_WAIT_CAP = 60.0  # a bar due but not published yet: asked again at most this far apart
TRADING_DAY_SHARE = 5.0  # calendar time per trading time of a market open 6.5 h on weekdays


class YahooBarSource(VenueBarSource):
    """Closed bars of ``symbols`` (one symbol, or a basket's in its order) at ``interval`` from
    ``venue`` (see the module docstring)."""

    market_closes = True  # gaps between live bars are the market's hours, not missed bars

    def __init__(self, venue: YahooVenue, symbols: str | Sequence[str], interval: str,
                 lookback_bars: int, retry_interval: float, poll_delay: float = 5.0,
                 resume_after_ts: float | None = None) -> None:
        names = tuple(s.upper() for s in ((symbols,) if isinstance(symbols, str) else symbols))
        if not names:
            raise ValueError("YahooBarSource needs at least one symbol")
        self.symbol = names[0]
        self.interval = interval
        self.yahoo = yahoo_interval(interval)
        self.step = float(self.yahoo.seconds)
        shown = ",".join(names)
        super().__init__(venue, key=f"chart {shown} {interval}",
                         label=f"yahoo {shown} {interval}", lookback_bars=lookback_bars,
                         retry_interval=retry_interval, resume_after_ts=resume_after_ts,
                         symbols=names)
        self.poll_delay = max(0.0, float(poll_delay))
        self._misses = 0
        self._said_closed: set[int] = set()  # symbols whose closed market was logged
        self.polls = 0

    def describe(self) -> str:
        built = f", built from {self.yahoo.base} bars" if self.yahoo.resampled else ""
        return (f"yahoo {','.join(self.symbols)} {self.interval} bars{built} "
                f"({self.lookback_bars} history, polled {self.poll_delay:g}s after each close, "
                f"{self.venue.describe()})")

    def symbol_label(self, symbol: int) -> str:
        return f"yahoo {self.symbols[symbol]} {self.interval}"

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, sink: BarSink) -> None:
        """History, then each bar as it closes, until cancelled or the feed stops taking bars.

        Raises UnknownSymbol (a VenueError naming the symbol) when Yahoo does not know one."""
        await self.set_state(sink, DELAYED)
        probes = await self._fetch(sink, [None] * len(self.symbols))  # symbols known, clock set
        await self._warm_up(sink, probes)
        await self.set_state(sink, LIVE)
        polled: list[Chart] | None = None
        while True:
            await self._wait_for_next_bar(polled)
            polled = await self._poll(sink)

    async def _warm_up(self, sink: BarSink, probes: list[Chart]) -> None:
        now = probes[0].server_time
        wanted = self.lookback_bars
        start = self._history_start(now, wanted)
        if self._resume_ts is not None:
            start = min(start, self._history_start(self._resume_ts, wanted))
        start = max(start, self._oldest(now))
        bars = []
        for i in range(len(self.symbols)):
            one = await self._closed_bars(sink, i, start)
            if len(one) < wanted and start > self._oldest(now):  # closed longer than guessed
                one = await self._closed_bars(sink, i, self._oldest(now))
            if self._resume_ts is None and len(one) < wanted:
                log.warning("%s: Yahoo served %d of the %d history bar(s) asked for (data."
                            "lookback_bars); warming up on those", self.symbol_label(i),
                            len(one), wanted)
            bars.append(one)
        if self.basket:  # the bars after the horizon of the first answers come with the polls
            horizon = self._horizon(probes)
            bars = [[b for b in one if b.ts <= horizon] for one in bars]
            await self.warm_up_basket(sink, bars, complete_through=horizon)
        else:
            await self.warm_up(sink, bars[0])

    async def _poll(self, sink: BarSink) -> list[Chart]:
        """Deliver every symbol's bars closed since its last one delivered, each time marked
        complete where the answers say so; returns the answers."""
        self.polls += 1
        now = self.venue.now()
        starts = []
        for last in self.last_delivered:
            if last is None:
                starts.append(now - 2 * self.step)
            else:  # a daily row is stamped at its session's start, maybe the day before in UTC
                starts.append(last + self.step - (0 if self.yahoo.intraday else DAY_SECONDS))
        charts = await self._fetch(sink, starts)
        horizon = self._horizon(charts) if self.basket else math.inf
        fresh = []
        for i, (chart, last) in enumerate(zip(charts, self.last_delivered)):
            bars = [b for b in self._bars(chart)
                    if (last is None or b.ts > last) and b.ts <= horizon]
            if len(bars) > 1:
                log.info("%s: %d bar(s) %s to %s caught up", self.symbol_label(i), len(bars),
                         iso_z(bars[0].ts), iso_z(bars[-1].ts))
            fresh.append(bars)
            if bars:
                self._said_closed.discard(i)
        await self.deliver_steps(sink, fresh, horizon)
        await self.mark_complete(sink, horizon)
        await self.set_state(sink, LIVE)
        self._misses = 0 if any(fresh) else self._misses + 1
        return charts

    def _settle(self) -> float:
        """How long after a bar opens it is surely in an answer: closed (by the chart's margin,
        a built bar once its last finer bar closed), then published (``poll_delay``)."""
        base = self.yahoo.base_seconds if self.yahoo.resampled else 0.0
        if self.yahoo.base == "1d":  # dated 00:00 UTC, closed with the day's session: in the
            return 1.25 * DAY_SECONDS + CLOSE_MARGIN + self.poll_delay  # west, the next day
        return self.step + base + CLOSE_MARGIN + self.poll_delay

    def _horizon(self, charts: Sequence[Chart]) -> float:
        """A basket round's horizon: the latest bar time every answer of the round surely
        holds, if the symbol has a bar there (the first answer's time, less ``_settle``)."""
        return min(chart.server_time for chart in charts) - self._settle()

    # -- when to ask next ----------------------------------------------------------------------
    async def _wait_for_next_bar(self, charts: list[Chart] | None) -> None:
        """Sleep until the next bar should be out (never longer than the venue's ``max_wait``
        at a time: the clock is Yahoo's and is re-read at each answer)."""
        now = self.venue.now()
        wait = self._due(charts, now) - now
        if wait <= 0:  # due already (or not known): a bar not yet published, or catching up
            wait = min(MISSING_WAIT_CAP, self.retry_interval, max(self.poll_delay, 1.0)
                       * 2 ** min(self._misses, 10)) if self._misses else 0.0
        await asyncio.sleep(min(wait, self.venue.max_wait))

    def _due(self, charts: list[Chart] | None, now: float) -> float:
        """When to poll next: when the first symbol has a bar due by its own market's hours;
        in a basket, not before that bar is within a round's horizon too."""
        dues = []
        for i, last in enumerate(self.last_delivered):
            due = self._next_due_of(i, charts[i] if charts is not None else None, now)
            if self.basket and last is not None:
                due = max(due, last + self.step + self._settle())
            dues.append(due)
        return min(dues)

    def _next_due(self, chart: Chart | None, now: float) -> float:
        """When the next bar of the (first) symbol is out: its close (by the session) plus the
        poll delay."""
        return self._next_due_of(0, chart, now)

    def _next_due_of(self, symbol: int, chart: Chart | None, now: float) -> float:
        """When the next bar of ``symbol`` is out, by its own market's session."""
        last = self.last_delivered[symbol]
        if chart is None or last is None:
            return now
        session = chart.current
        if not self.yahoo.intraday:
            if self.yahoo.base == "1w":
                return last + 2 * self.step + self.poll_delay
            if session is not None and now < session.end:
                return session.end + self.poll_delay
            return self._closed_market(symbol, now)
        opens = last + self.step
        if session is not None:
            if now >= session.end and opens + self.step > now:
                return min(opens + self.step + self.poll_delay, now + CLOSED_WAIT)
            if now >= session.end:
                return self._closed_market(symbol, now)
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

    def _closed_market(self, symbol: int, now: float) -> float:
        if symbol not in self._said_closed:  # once per closed spell, not at every poll
            self._said_closed.add(symbol)
            log.info("%s: market closed; asking Yahoo again every %gs until the next session is "
                     "announced", self.symbol_label(symbol), CLOSED_WAIT)
        return now + CLOSED_WAIT

    # -- fetching --------------------------------------------------------------------------------
    async def _closed_bars(self, sink: BarSink, symbol: int, start: float) -> list[Bar]:
        """Every closed bar of ``symbol`` from ``start`` to now (in pieces where Yahoo limits a
        request)."""
        async def fetch(at: float, upto: float | None) -> Chart:
            return (await self._fetch(sink, [at], upto, only=symbol))[0]
        return await fetch_closed_bars(fetch, self.yahoo, start, None, self.venue.now())

    def _bars(self, chart: Chart) -> list[Bar]:
        return closed_bars(chart, self.yahoo)

    async def _fetch(self, sink: BarSink, starts: Sequence[float | None],
                     end: float | None = None, only: int | None = None) -> list[Chart]:
        """The chart of every symbol (or of symbol ``only``) from its start (None: a probe of
        the last days, which checks the symbol and sets the clock) to ``end`` (None: now), in
        one round; retried with backoff (capped at ``retry_interval``) until it comes.
        UnknownSymbol is not retried."""
        symbols = self.symbols if only is None else (self.symbols[only],)
        attempt = 0
        while True:
            try:
                if len(symbols) == 1:  # one symbol: one request, as it always went
                    symbol, start = symbols[0], starts[0]
                    charts = [await self.venue.probe(symbol, self.yahoo) if start is None
                              else await self.venue.fetch_chart(symbol, self.yahoo, start, end)]
                else:
                    charts = await self.venue.fetch_charts(
                        [(symbol, start, end) for symbol, start in zip(symbols, starts)],
                        self.yahoo)
                break
            except UnknownSymbol:
                raise
            except VenueError as exc:
                attempt += 1
                await self.backing_off(sink, attempt, exc)
        if attempt:
            log.info("%s: Yahoo answers again after %d failed attempt(s)", self.label, attempt)
            await self.set_state(sink, DELAYED)  # catching up on what closed meanwhile
        return charts

    def _history_start(self, end: float, bars: int) -> float:
        """How far back ``bars`` closed bars before ``end`` begin, with room for closed hours."""
        span = (bars + 2) * self.step
        if self.yahoo.intraday:
            return end - span * TRADING_DAY_SHARE - 4 * DAY_SECONDS
        return end - span * 1.5 - 10 * DAY_SECONDS

    def _oldest(self, now: float) -> float:
        days = self.yahoo.history_days
        return now - days * DAY_SECONDS if days is not None else 0.0

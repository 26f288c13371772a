"""The ``ibkr`` data source: bars from TWS / IB Gateway, history kept up to date.

Warm-up is ``reqHistoricalData`` over ``lookback_bars``; the same request stays open
(``keepUpToDate=True``) and a bar is delivered once the next one starts, never while it forms
(``trading.venues.ibkr.bars``). ``whatToShow`` is TRADES for stocks and futures, MIDPOINT for
forex. When the market is closed (nights, weekends, holidays) TWS sends nothing and the source
simply waits: no warning, no timeout.

When the connection drops (the venue reconnects with backoff) or TWS loses IB (1100), the state
is CONNBROKEN; once it is back (reconnected, or 1101 / 1102) the same request is made again and
the bars missed meanwhile are delivered before the source goes LIVE again: no gap, no duplicate,
in order. States: DELAYED (history) -> LIVE -> CONNBROKEN -> DELAYED (backfill) -> LIVE.
"""
from __future__ import annotations

import asyncio
import logging

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink, SinkClosed
from feeds.resume import put_history, split_resumed
from trading.core.errors import ConfigError, VenueError
from trading.core.timeutil import iso_z
from trading.core.types import Bar
from trading.venues.ibkr.bars import BarSubscription
from trading.venues.ibkr.connection import ClientIdInUse, IbkrVenue
from trading.venues.ibkr.contracts import bar_size, history_duration, what_to_show

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.25
_LOST, _RESTORED = "lost", "restored"


class IbkrBarSource:
    """Closed bars of the venue's contract at ``interval_seconds`` (see the module docstring).

    ``resume_after(ts)``: the last bar a previous run traded; bars after it that are still within
    ``lookback_bars`` are delivered as live bars (the bot trades them), older ones as history.
    ``market_closes``: IB's markets have sessions, so a gap between bars is closed hours.
    """

    market_closes = True

    def __init__(self, venue: IbkrVenue, interval_seconds: int, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None) -> None:
        self.venue = venue
        self.interval = int(interval_seconds)
        self.bar_size = bar_size(self.interval)  # an interval IB lacks fails here, at build time
        self.lookback_bars = max(0, int(lookback_bars))
        self.retry_interval = max(0.1, float(retry_interval))
        self._resume_ts: float | None = None
        self._last_ts: float | None = None  # open time of the last bar delivered
        self._events: asyncio.Queue | None = None
        self.backfills = 0
        self.resume_after(resume_after_ts)

    def resume_after(self, ts: float | None) -> None:
        """Continue after the bar at ``ts`` (None: a first run)."""
        self._resume_ts = ts

    def describe(self) -> str:
        spec = self.venue.spec
        what = spec.describe() if spec is not None else "contract"
        return (f"ibkr {what} {self.bar_size} bars ({self.lookback_bars} history, "
                f"{self.venue.address.host}:{self.venue.address.port})")

    # -- the run -------------------------------------------------------------------------------
    async def run(self, sink: BarSink) -> None:
        """History, then closed bars until cancelled or the feed stops taking bars."""
        self._events = asyncio.Queue()
        self.venue.add_listener(self._on_connection)
        attempt = 0
        subscription: BarSubscription | None = None
        try:
            await self.venue.start()  # a wrong contract or a taken client id ends the run here
            sec_type = self.venue.contract.secType if self.venue.contract is not None else "STK"
            duration = history_duration(self.lookback_bars, self.interval, sec_type)
            what = what_to_show(sec_type)
            await self._set(sink, DELAYED)
            while True:
                await self.venue.wait_ready()
                self._drain_connection_notices()
                subscription = BarSubscription(self.venue, duration=duration,
                                               bar_size=self.bar_size, what_to_show=what,
                                               on_closed=self._on_closed)
                try:
                    bars = await subscription.open()
                except VenueError as exc:
                    subscription.cancel()
                    attempt += 1
                    wait = min(self.retry_interval, FIRST_RETRY_SECONDS * 2 ** attempt)
                    log.warning("%s: %s; trying again in %.1fs", self._label(), exc, wait)
                    await self._set(sink, CONNBROKEN)
                    await asyncio.sleep(wait)
                    await self._set(sink, DELAYED)
                    continue
                attempt = 0
                if self._last_ts is None:
                    await self._warm_up(sink, bars)
                else:
                    await self._backfill(sink, bars)
                await self._set(sink, LIVE)
                await self._follow(sink)  # returns when the connection is lost
                subscription.cancel()
                subscription = None
                await self._set(sink, CONNBROKEN)
                await self.venue.wait_ready()
                await self._set(sink, DELAYED)
        except SinkClosed:
            log.debug("%s: the feed stopped", self._label())
        except (ConfigError, ClientIdInUse):
            raise
        finally:
            if subscription is not None:
                subscription.cancel()
            self._state("stopped")

    async def _follow(self, sink: BarSink) -> None:
        assert self._events is not None
        while True:
            item = await self._events.get()
            if item == _LOST:
                log.warning("%s: connection lost; the missed bars are backfilled once it is "
                            "back", self._label())
                return
            if isinstance(item, Bar):
                await self._deliver(sink, item)

    def _drain_connection_notices(self) -> None:
        """Forget "lost" / "restored" notices about earlier connections (bars stay queued)."""
        assert self._events is not None
        kept = []
        while not self._events.empty():
            item = self._events.get_nowait()
            if isinstance(item, Bar):
                kept.append(item)
        for item in kept:
            self._events.put_nowait(item)

    # -- I/O thread callbacks ------------------------------------------------------------------
    def _on_closed(self, bar: Bar) -> None:
        if self._events is not None:
            self._events.put_nowait(bar)

    def _on_connection(self, what: str) -> None:
        if self._events is not None and what == _LOST:
            self._events.put_nowait(_LOST)

    # -- delivering ----------------------------------------------------------------------------
    async def _warm_up(self, sink: BarSink, bars: list[Bar]) -> None:
        history, live = split_resumed(bars, self._resume_ts, self.lookback_bars, self._label())
        await put_history(sink, history, self._label())
        if history:
            self._last_ts = history[-1].ts
        elif bars:
            self._last_ts = bars[0].ts - self.interval  # nothing as history: all of it is live
        for bar in live:
            await self._deliver(sink, bar)

    async def _backfill(self, sink: BarSink, bars: list[Bar]) -> None:
        missed = [b for b in bars if self._last_ts is not None and b.ts > self._last_ts]
        self.backfills += 1
        if missed:
            log.info("%s: backfilled %d bar(s) %s to %s after the reconnect", self._label(),
                     len(missed), iso_z(missed[0].ts), iso_z(missed[-1].ts))
        for bar in missed:
            await self._deliver(sink, bar)

    async def _deliver(self, sink: BarSink, bar: Bar) -> None:
        if self._last_ts is not None and bar.ts <= self._last_ts:
            return  # already delivered (a backfill and the stream overlap)
        await sink.put_bar(bar)
        self._last_ts = bar.ts

    # -- states --------------------------------------------------------------------------------
    async def _set(self, sink: BarSink, state: int) -> None:
        await sink.put_status(state)
        self._state({DELAYED: "DELAYED", LIVE: "LIVE", CONNBROKEN: "CONNBROKEN"}[state])

    def _state(self, name: str) -> None:
        self.venue.stream_states[f"bars {self.bar_size}"] = name

    def _label(self) -> str:
        spec = self.venue.spec
        return f"ibkr {spec.symbol if spec is not None else ''} {self.bar_size}".strip()

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

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink
from feeds.venue_source import VenueBarSource
from trading.core.errors import VenueError
from trading.core.timeutil import iso_z
from trading.core.types import Bar
from trading.venues.ibkr.bars import BarSubscription
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.contracts import bar_size, history_duration, what_to_show

log = logging.getLogger(__name__)

_LOST = "lost"


class IbkrBarSource(VenueBarSource):
    """Closed bars of the venue's contract at ``interval_seconds`` (see the module docstring).

    ``market_closes``: IB's markets have sessions, so a gap between bars is closed hours.
    """

    market_closes = True

    def __init__(self, venue: IbkrVenue, interval_seconds: int, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None) -> None:
        self.interval = int(interval_seconds)
        self.bar_size = bar_size(self.interval)  # an interval IB lacks fails here, at build time
        spec = venue.spec
        super().__init__(venue, key=f"bars {self.bar_size}",
                         label=f"ibkr {spec.symbol if spec is not None else ''} "
                               f"{self.bar_size}".replace("  ", " "),
                         lookback_bars=lookback_bars, retry_interval=retry_interval,
                         resume_after_ts=resume_after_ts)
        self._events: asyncio.Queue | None = None
        self.backfills = 0

    def describe(self) -> str:
        spec = self.venue.spec
        what = spec.describe() if spec is not None else "contract"
        return (f"ibkr {what} {self.bar_size} bars ({self.lookback_bars} history, "
                f"{self.venue.address.host}:{self.venue.address.port})")

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, sink: BarSink) -> None:
        """History, then closed bars until cancelled or the feed stops taking bars. A wrong
        contract or a client id in use ends the run with its error."""
        self._events = asyncio.Queue()
        self.venue.add_listener(self._on_connection)
        attempt = 0
        subscription: BarSubscription | None = None
        try:
            await self.venue.start()
            sec_type = self.venue.contract.secType if self.venue.contract is not None else "STK"
            duration = history_duration(self.lookback_bars, self.interval, sec_type)
            what = what_to_show(sec_type)
            await self.set_state(sink, DELAYED)
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
                    await self.backing_off(sink, attempt, exc)
                    await self.set_state(sink, DELAYED)
                    continue
                attempt = 0
                if self.last_ts is None:
                    await self.warm_up(sink, bars)
                else:
                    await self._backfill(sink, bars)
                await self.set_state(sink, LIVE)
                await self._follow(sink)  # returns when the connection is lost
                subscription.cancel()
                subscription = None
                await self.set_state(sink, CONNBROKEN)
                await self.venue.wait_ready()
                await self.set_state(sink, DELAYED)
        finally:
            if subscription is not None:
                subscription.cancel()

    async def _follow(self, sink: BarSink) -> None:
        assert self._events is not None
        while True:
            item = await self._events.get()
            if item == _LOST:
                log.warning("%s: connection lost; the missed bars are backfilled once it is "
                            "back", self.label)
                return
            if isinstance(item, Bar):
                await self.deliver(sink, item)

    def _drain_connection_notices(self) -> None:
        """Forget "lost" notices about earlier connections (bars stay queued)."""
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

    async def _backfill(self, sink: BarSink, bars: list[Bar]) -> None:
        missed = [b for b in bars if self.last_ts is not None and b.ts > self.last_ts]
        self.backfills += 1
        if missed:
            log.info("%s: backfilled %d bar(s) %s to %s after the reconnect", self.label,
                     len(missed), iso_z(missed[0].ts), iso_z(missed[-1].ts))
        for bar in missed:
            await self.deliver(sink, bar)

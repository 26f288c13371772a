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

A basket keeps one such request per symbol's contract on the one connection (each with its own
``whatToShow`` and duration: a forex pair among stocks asks for MIDPOINT); every symbol's
history comes before the source goes LIVE, and a backfill marks complete the times every
contract's answer has closed, so the basket's clock need not wait for them.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import math
from typing import Any

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
    """Closed bars of the venue's contracts (one, or a basket's: ``venue.specs``) at
    ``interval_seconds`` (see the module docstring).

    ``market_closes``: IB's markets have sessions, so a gap between bars is closed hours.
    """

    market_closes = True

    def __init__(self, venue: IbkrVenue, interval_seconds: int, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None) -> None:
        self.interval = int(interval_seconds)
        self.bar_size = bar_size(self.interval)  # an interval IB lacks fails here, at build time
        symbols = tuple(spec.symbol for spec in getattr(venue, "specs", ())) or ("",)
        super().__init__(venue, key=f"bars {self.bar_size}",
                         label=f"ibkr {','.join(symbols)} {self.bar_size}".replace("  ", " "),
                         lookback_bars=lookback_bars, retry_interval=retry_interval,
                         resume_after_ts=resume_after_ts, symbols=symbols)
        self._events: asyncio.Queue | None = None
        self.backfills = 0

    def describe(self) -> str:
        specs = getattr(self.venue, "specs", ())
        what = "; ".join(spec.describe() for spec in specs) or "contract"
        return (f"ibkr {what} {self.bar_size} bars ({self.lookback_bars} history, "
                f"{self.venue.address.host}:{self.venue.address.port})")

    def symbol_label(self, symbol: int) -> str:
        return f"ibkr {self.symbols[symbol]} {self.bar_size}".replace("  ", " ")

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, sink: BarSink) -> None:
        """History, then closed bars until cancelled or the feed stops taking bars. A wrong
        contract or a client id in use ends the run with its error."""
        self._events = asyncio.Queue()
        self.venue.add_listener(self._on_connection)
        attempt = 0
        subscriptions: list[BarSubscription] = []
        try:
            await self.venue.start()
            requests = self._requests()
            await self.set_state(sink, DELAYED)
            while True:
                await self.venue.wait_ready()
                self._drain_connection_notices()
                subscriptions = [
                    BarSubscription(self.venue, contract=contract, duration=duration,
                                    bar_size=self.bar_size, what_to_show=what,
                                    on_closed=functools.partial(self._on_closed, i))
                    for i, (contract, duration, what) in enumerate(requests)]
                try:
                    answers = [await subscription.open() for subscription in subscriptions]
                except VenueError as exc:
                    self._cancel(subscriptions)
                    attempt += 1
                    await self.backing_off(sink, attempt, exc)
                    await self.set_state(sink, DELAYED)
                    continue
                attempt = 0
                if self.basket:
                    # every contract's bars as they stand at one instant (updates kept them
                    # current while the later requests went out), each closed up to its last:
                    # the times up to the earliest of those are complete for the basket
                    answers = [subscription.closed() for subscription in subscriptions]
                through = min((bars[-1].ts for bars in answers if bars), default=None)
                if all(last is None for last in self.last_delivered):
                    await self.warm_up_basket(sink, answers, complete_through=through,
                                              history_through=through)
                else:
                    await self._backfill(sink, answers, through)
                await self.set_state(sink, LIVE)
                await self._follow(sink)  # returns when the connection is lost
                self._cancel(subscriptions)
                subscriptions = []
                await self.set_state(sink, CONNBROKEN)
                await self.venue.wait_ready()
                await self.set_state(sink, DELAYED)
        finally:
            self._cancel(subscriptions)

    def _requests(self) -> list[tuple[Any, str, str]]:
        """(contract, duration, whatToShow) of each symbol's history request."""
        venue = self.venue
        contracts = [venue.contracts.get(symbol) for symbol in self.symbols] \
            if getattr(venue, "specs", ()) else [venue.contract]
        out = []
        for contract in contracts:
            sec_type = contract.secType if contract is not None else "STK"
            out.append((contract, history_duration(self.lookback_bars, self.interval, sec_type),
                        what_to_show(sec_type)))
        return out

    @staticmethod
    def _cancel(subscriptions: list[BarSubscription]) -> None:
        for subscription in subscriptions:
            subscription.cancel()

    async def _follow(self, sink: BarSink) -> None:
        assert self._events is not None
        while True:
            item = await self._events.get()
            if item == _LOST:
                log.warning("%s: connection lost; the missed bars are backfilled once it is "
                            "back", self.label)
                return
            if isinstance(item, tuple):
                symbol, bar = item
                await self.deliver(sink, bar, symbol)

    def _drain_connection_notices(self) -> None:
        """Forget "lost" notices about earlier connections (bars stay queued)."""
        assert self._events is not None
        kept = []
        while not self._events.empty():
            item = self._events.get_nowait()
            if isinstance(item, tuple):
                kept.append(item)
        for item in kept:
            self._events.put_nowait(item)

    # -- I/O thread callbacks ------------------------------------------------------------------
    def _on_closed(self, symbol: int, bar: Bar) -> None:
        if self._events is not None:
            self._events.put_nowait((symbol, bar))

    def _on_connection(self, what: str) -> None:
        if self._events is not None and what == _LOST:
            self._events.put_nowait(_LOST)

    async def _backfill(self, sink: BarSink, answers: list[list[Bar]],
                        through: float | None) -> None:
        """Deliver, in time order, each symbol's bars after its last one delivered; the times
        up to ``through`` marked complete."""
        missed = [[b for b in bars if last is None or b.ts > last]
                  for bars, last in zip(answers, self.last_delivered)]
        self.backfills += 1
        for i, bars in enumerate(missed):
            if bars:
                log.info("%s: backfilled %d bar(s) %s to %s after the reconnect",
                         self.symbol_label(i), len(bars), iso_z(bars[0].ts), iso_z(bars[-1].ts))
        await self.deliver_steps(sink, missed, through if through is not None else -math.inf)

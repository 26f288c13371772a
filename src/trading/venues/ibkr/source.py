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
``whatToShow`` and duration: a forex pair among stocks asks for MIDPOINT). TWS tells each
contract's bars separately and its answers come one after the other, so one contract can be a
bar or more ahead of another: its history ends where every answer has closed its bars, and a
later bar is held until every contract has caught up with it, or ``HOLD_SECONDS`` at most (TWS
sends a bar boundary's updates within a moment of each other: a contract silent that long traded
nothing there, or closes its bar only with its next trade, too late for the step). The bars go
out in time order, each time every contract has passed marked complete, so the basket's step
never runs without a bar still to come, nor waits for one that will not.
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
HOLD_SECONDS = 2.0  # how long a basket's bar waits for the other contracts' bars of its time


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
        # a basket: each symbol's closed bars not delivered yet, and its newest bar known
        self._pending: list[list[Bar]] = [[] for _ in self.symbols]
        self._known: list[float | None] = [None] * len(self.symbols)

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
                await self._catch_up(sink, answers)
                await self.set_state(sink, LIVE)
                await self._release(sink)
                await self._follow(sink)  # returns when the connection is lost
                self._cancel(subscriptions)
                subscriptions = []
                await self.set_state(sink, CONNBROKEN)
                await self.venue.wait_ready()
                await self.set_state(sink, DELAYED)
        finally:
            self._cancel(subscriptions)

    async def _catch_up(self, sink: BarSink, answers: list[list[Bar]]) -> None:
        """The answers of a (re)connect: the warm-up, or the bars missed meanwhile. Every answer
        has closed its contract's bars up to its last: the times up to the earliest of those
        are complete; a basket's later bars (and those closed while the requests went out)
        are held until the others catch up."""
        through = min((bars[-1].ts for bars in answers if bars), default=None)
        later: list[list[Bar]] = [[] for _ in answers]
        if self.basket:
            self._pending = [[] for _ in answers]  # what was held comes again in the answers
            for i, bars in enumerate(answers):
                if bars and (self._known[i] is None or bars[-1].ts > self._known[i]):
                    self._known[i] = bars[-1].ts
            if through is not None:
                later = [[b for b in bars if b.ts > through] for bars in answers]
                answers = [[b for b in bars if b.ts <= through] for bars in answers]
        if all(last is None for last in self.last_delivered):
            await self.warm_up_basket(sink, answers, complete_through=through)
        else:
            await self._backfill(sink, answers, through)
        if self.basket:
            for i, bars in enumerate(later):
                self._hold(i, bars)
            for i, bar in self._take_queued_bars():
                self._hold(i, [bar])

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
            if self.basket and any(self._pending):
                try:  # a contract silent that long has no bar to come in time: go on
                    item = await asyncio.wait_for(self._events.get(), HOLD_SECONDS)
                except asyncio.TimeoutError:
                    await self._release(sink, force=True)
                    continue
            else:
                item = await self._events.get()
            if item == _LOST:  # the bars held come again in the answers after the reconnect
                log.warning("%s: connection lost; the missed bars are backfilled once it is "
                            "back", self.label)
                return
            if isinstance(item, tuple):
                symbol, bar = item
                if not self.basket:
                    await self.deliver(sink, bar, symbol)
                    continue
                self._hold(symbol, [bar])
                await self._release(sink)

    # -- a basket's bars in time order -----------------------------------------------------------
    def _hold(self, symbol: int, bars: list[Bar]) -> None:
        """Keep ``symbol``'s closed ``bars`` until every contract has caught up with them."""
        pending, last = self._pending[symbol], self.last_delivered[symbol]
        for bar in bars:
            newest = pending[-1].ts if pending else last
            if newest is None or bar.ts > newest:
                pending.append(bar)
            known = self._known[symbol]
            if known is None or bar.ts > known:
                self._known[symbol] = bar.ts

    async def _release(self, sink: BarSink, force: bool = False) -> None:
        """Deliver, in time order, the held bars every contract has reached, each such time
        marked complete; with ``force`` every held bar (a contract still silent has no bar
        there)."""
        if not any(self._pending):
            return
        known = [ts for ts in self._known if ts is not None]
        horizon = max(b.ts for bars in self._pending for b in bars) if force \
            else min(known, default=-math.inf)
        out = [[b for b in bars if b.ts <= horizon] for bars in self._pending]
        self._pending = [[b for b in bars if b.ts > horizon] for bars in self._pending]
        await self.deliver_steps(sink, out, horizon)

    def _take_queued_bars(self) -> list[tuple[int, Bar]]:
        """The bars that closed while the requests went out (other notices stay queued)."""
        assert self._events is not None
        bars, kept = [], []
        while not self._events.empty():
            item = self._events.get_nowait()
            (bars if isinstance(item, tuple) else kept).append(item)
        for item in kept:
            self._events.put_nowait(item)
        return bars

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

"""``VenueBarSource``: what every venue's bar source shares, written once.

A venue source (Binance klines, Yahoo chart polls, IB history kept up to date) fetches bars its
own way and hands each closed bar to ``deliver``, which keeps the source's promise to the feed:
each closed bar once, in order, never one already delivered (a backfill and a live stream
overlap after every reconnect). A source of a basket (``symbols``: more than one) keeps that
promise per symbol: each symbol has its own last delivered bar, and its bars go to the sink
tagged with the symbol's place in the basket, for ``feeds.basket_clock`` to step. Around that:

- ``warm_up`` / ``warm_up_basket``: where a (re)started bot picks up; the bars fetched at start
  are split into the warm-up history (queued with the last one marked, every symbol's before
  the source goes LIVE) and, after a restart, the bars missed while the bot was down that are
  still recent enough to trade (``split_resumed`` / ``split_basket``; ``resume_after`` applies
  to every symbol);
- ``deliver_steps``: several symbols' bars (a backfill, a poll) delivered in time order, each
  time marked complete (``BarSink.step_done``) when the source knows every symbol's bar for it
  is in, so a basket's step need not wait for a timer;
- ``set_state``: Backtrader data states (DELAYED, LIVE, CONNBROKEN) told to the feed once per
  change and shown in the venue's status;
- ``retry_wait`` / ``backing_off``: capped exponential backoff and the CONNBROKEN that goes
  with it;
- ``run``: the source's own ``stream(sink)`` until it ends, the feed stops taking bars
  (``SinkClosed``) or the bot cancels it; the state shows ``stopped`` at the end.

A subclass implements ``stream(sink)`` and ``describe()``; ``market_closes = True`` for a market
with sessions (gaps between bars are closed hours, not missed bars).
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import math
from typing import Any, Sequence

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink, SinkClosed
from trading.core.timeutil import iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.25
STATE_NAMES = {DELAYED: "DELAYED", LIVE: "LIVE", CONNBROKEN: "CONNBROKEN"}


def split_resumed(bars: Sequence[Bar], resume_ts: float | None, lookback_bars: int,
                  label: str) -> tuple[list[Bar], list[Bar]]:
    """``(history, live)`` for closed ``bars`` (oldest first).

    A first run (``resume_ts`` None) warms up on the last ``lookback_bars`` and trades nothing
    old. After a restart the bars after ``resume_ts`` (the last bar traded) were missed while the
    bot was down: those within ``lookback_bars`` of now are traded as live bars, older ones only
    warm up (logged under ``label``).
    """
    (history,), (live,) = split_basket([bars], resume_ts, lookback_bars, [label])
    return history, live


def split_basket(bars: Sequence[Sequence[Bar]], resume_ts: float | None, lookback_bars: int,
                 labels: Sequence[str]) -> tuple[list[list[Bar]], list[list[Bar]]]:
    """``split_resumed`` for each symbol of a basket (``bars``: each symbol's closed bars,
    oldest first; ``labels`` name them in the log): ``(histories, lives)``.

    What is recent enough to trade is decided by time across the basket, not per symbol: the
    last ``lookback_bars`` time steps missed (by any symbol) are live for every symbol, so a
    symbol with a gap never has a step traded that another symbol only warms up on.
    """
    if resume_ts is None:
        return ([list(one[-lookback_bars:]) if lookback_bars else [] for one in bars],
                [[] for _ in bars])
    missed_steps = sorted({b.ts for one in bars for b in one if b.ts > resume_ts})
    live_steps = missed_steps[-lookback_bars:] if lookback_bars else []
    cut = live_steps[0] if live_steps else math.inf  # the first step traded as live
    histories, lives = [], []
    for one, label in zip(bars, labels):
        live = [b for b in one if b.ts >= cut]
        histories.append([b for b in one if b.ts < cut][-max(lookback_bars, 1):])
        lives.append(live)
        missed = sum(1 for b in one if b.ts > resume_ts)
        if missed:
            log.info("%s: %d bar(s) since the last traded bar %s; %d traded as live bars", label,
                     missed, iso_z(resume_ts), len(live))
    return histories, lives


class VenueBarSource:
    """The shared part of a venue's bar source; see the module docstring.

    ``venue`` is the bot's connection (its ``stream_states`` show the source's state in the
    status), ``key`` names the stream there, ``label`` names the source in the log. ``symbols``:
    a basket's, in its order (bars are tagged with their index); a one-symbol source may leave
    it out.
    """

    market_closes = False
    reaches_network = True  # feeds.first_contact bounds the wait for its first bar

    def __init__(self, venue: Any, *, key: str, label: str, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None,
                 symbols: Sequence[str] = ("",)) -> None:
        self.venue = venue
        self.key = key
        self.label = label
        self.lookback_bars = max(0, int(lookback_bars))
        self.retry_interval = max(float(retry_interval), FIRST_RETRY_SECONDS)
        self.symbols = tuple(symbols) or ("",)
        self.basket = len(self.symbols) > 1
        # per symbol: open time of the last bar delivered (or skipped)
        self.last_delivered: list[float | None] = [None] * len(self.symbols)
        self._marked = -math.inf  # a basket: every time up to here was marked complete
        self._resume_ts: float | None = None
        self._state: int | None = None
        self._problem = ""
        self.resume_after(resume_after_ts)

    @property
    def last_ts(self) -> float | None:
        """The open time of the last bar delivered (a basket: its first symbol's)."""
        return self.last_delivered[0]

    @last_ts.setter
    def last_ts(self, ts: float | None) -> None:
        self.last_delivered[0] = ts

    # -- what the bot calls --------------------------------------------------------------------
    def resume_after(self, ts: float | None) -> None:
        """Before ``run``: the last bar (a basket: step) a previous run traded (None: a first
        run), for every symbol. Bars after it still within ``lookback_bars`` of now are
        delivered live (the bot trades them)."""
        self._resume_ts = ts

    def describe(self) -> str:
        return self.label

    async def run(self, sink: BarSink) -> None:
        """History, then live closed bars, until the source ends, the feed stops taking bars or
        the bot cancels the run; a failure the source does not handle is raised."""
        try:
            await self.stream(sink)
        except SinkClosed:
            log.debug("%s: the feed stopped", self.label)
        finally:
            self.venue.stream_states[self.key] = "stopped"

    async def stream(self, sink: BarSink) -> None:
        raise NotImplementedError

    # -- the shared promise ----------------------------------------------------------------------
    async def deliver(self, sink: BarSink, bar: Bar, symbol: int = 0) -> bool:
        """Queue ``bar`` (of the basket's symbol ``symbol``) unless it is at or before that
        symbol's last bar delivered; True if queued."""
        last = self.last_delivered[symbol]
        if last is not None and bar.ts <= last:
            return False  # already delivered: a backfill and the stream overlap
        await sink.put_bar(bar, symbol=symbol)
        self.last_delivered[symbol] = bar.ts
        return True

    async def deliver_steps(self, sink: BarSink, bars: Sequence[Sequence[Bar]],
                            complete_through: float | None = None) -> int:
        """Deliver each symbol's ``bars`` (``bars[i]``: symbol i's, oldest first) in time order
        across the basket; returns how many were queued. In a basket each time up to
        ``complete_through`` (None: every time here) is then marked complete: the source
        fetched every symbol's bars through it, so a symbol without one there has none."""
        queued = 0
        step: float | None = None
        merged = heapq.merge(*([(b.ts, i, b) for b in one] for i, one in enumerate(bars)),
                             key=lambda item: (item[0], item[1]))
        for ts, i, bar in merged:
            if step is not None and ts != step:
                await self._step_done(sink, step, complete_through)
            step = ts
            queued += await self.deliver(sink, bar, i)
        if step is not None:
            await self._step_done(sink, step, complete_through)
        return queued

    async def _step_done(self, sink: BarSink, ts: float, complete_through: float | None) -> None:
        if complete_through is None or ts <= complete_through:
            await self.mark_complete(sink, ts)

    async def mark_complete(self, sink: BarSink, ts: float) -> None:
        """A basket's source knows every symbol's bars up to time ``ts`` are in (or have none):
        tell the basket's clock once (``BarSink.step_done``), so those steps run without
        waiting. Nothing for one symbol."""
        if self.basket and ts > self._marked and math.isfinite(ts):
            self._marked = ts
            await sink.step_done(ts)

    async def warm_up(self, sink: BarSink, bars: Sequence[Bar]) -> None:
        """Deliver the bars fetched at start (closed, oldest first): the warm-up history, then
        after a restart the missed bars still recent enough to trade. Closed bars older than
        that are not news: the next bar delivered is one that closes from now on."""
        await self.warm_up_basket(sink, [bars])

    async def warm_up_basket(self, sink: BarSink, bars: Sequence[Sequence[Bar]],
                             complete_through: float | None = None) -> None:
        """``warm_up`` for every symbol (``bars[i]``: symbol i's, all fetched through one
        moment: a bar one answer holds and another lacks would reach the basket out of time
        order): each symbol's history, its last bar marked, then the missed bars to trade in
        time order, each time up to ``complete_through`` (None: every one) marked complete.
        The source goes LIVE after this, once."""
        labels = [self.symbol_label(i) for i in range(len(bars))]
        histories, lives = split_basket(bars, self._resume_ts, self.lookback_bars, labels)
        for i, history in enumerate(histories):
            for j, bar in enumerate(history):
                await sink.put_bar(bar, history=True, last_history=j == len(history) - 1,
                                   symbol=i)
            log.info("%s: %d history bar(s) loaded%s", labels[i], len(history),
                     f" up to {iso_z(history[-1].ts)}" if history else "")
            if history:
                self.last_delivered[i] = history[-1].ts
        await self.deliver_steps(sink, lives, complete_through)
        for i, one in enumerate(bars):
            last = self.last_delivered[i]
            if one and (last is None or last < one[-1].ts):
                self.last_delivered[i] = one[-1].ts

    def symbol_label(self, symbol: int) -> str:
        """How the log names one symbol's bars: the source's label, with the symbol in a
        basket (a venue may say it its own way)."""
        return f"{self.label} {self.symbols[symbol]}" if self.basket else self.label

    async def set_state(self, sink: BarSink, state: int) -> None:
        """Tell the feed a data state (once per change) and show it in the venue's status."""
        if state == self._state:
            return
        self._state = state
        await sink.put_status(state)
        self.venue.stream_states[self.key] = STATE_NAMES[state]

    @property
    def state(self) -> int | None:
        return self._state

    @property
    def last_problem(self) -> str:
        """The last failure the source (or its venue, retrying on its own) met; "" if none."""
        return self._problem or str(getattr(self.venue, "last_error", "") or "")

    def retry_wait(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: doubling from a quarter second, capped at
        ``data.retry_interval``."""
        return min(self.retry_interval, FIRST_RETRY_SECONDS * 2 ** max(attempt, 0))

    async def backing_off(self, sink: BarSink, attempt: int, problem: object) -> None:
        """Attempt ``attempt`` failed with ``problem``: say so, show CONNBROKEN, wait."""
        wait = self.retry_wait(attempt)
        self._problem = str(problem)
        log.warning("%s: %s; trying again in %.1fs", self.label, problem, wait)
        await self.set_state(sink, CONNBROKEN)
        await asyncio.sleep(wait)

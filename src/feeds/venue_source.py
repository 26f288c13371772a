"""``VenueBarSource``: what every venue's bar source shares, written once.

A venue source (Binance klines, Yahoo chart polls, IB history kept up to date) fetches bars its
own way and hands each closed bar to ``deliver``, which keeps the source's promise to the feed:
each closed bar once, in order, never one already delivered (a backfill and a live stream
overlap after every reconnect). Around that:

- ``warm_up``: where a (re)started bot picks up; the bars fetched at start are split into the
  warm-up history (queued with the last one marked) and, after a restart, the bars missed while
  the bot was down that are still recent enough to trade (``split_resumed``);
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
import logging
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
    if resume_ts is None:
        return (list(bars[-lookback_bars:]) if lookback_bars else []), []
    traded = [b for b in bars if b.ts <= resume_ts]
    missed = [b for b in bars if b.ts > resume_ts]
    live = missed[-lookback_bars:] if lookback_bars else []
    history = (traded + missed[:len(missed) - len(live)])[-max(lookback_bars, 1):]
    if missed:
        log.info("%s: %d bar(s) since the last traded bar %s; %d traded as live bars", label,
                 len(missed), iso_z(resume_ts), len(live))
    return history, live


class VenueBarSource:
    """The shared part of a venue's bar source; see the module docstring.

    ``venue`` is the bot's connection (its ``stream_states`` show the source's state in the
    status), ``key`` names the stream there, ``label`` names the source in the log.
    """

    market_closes = False
    reaches_network = True  # feeds.first_contact bounds the wait for its first bar

    def __init__(self, venue: Any, *, key: str, label: str, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None) -> None:
        self.venue = venue
        self.key = key
        self.label = label
        self.lookback_bars = max(0, int(lookback_bars))
        self.retry_interval = max(float(retry_interval), FIRST_RETRY_SECONDS)
        self.last_ts: float | None = None  # open time of the last bar delivered (or skipped)
        self._resume_ts: float | None = None
        self._state: int | None = None
        self._problem = ""
        self.resume_after(resume_after_ts)

    # -- what the bot calls --------------------------------------------------------------------
    def resume_after(self, ts: float | None) -> None:
        """Before ``run``: the last bar a previous run traded (None: a first run). Bars after it
        still within ``lookback_bars`` of now are delivered live (the bot trades them)."""
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
    async def deliver(self, sink: BarSink, bar: Bar) -> bool:
        """Queue ``bar`` unless it is at or before the last bar delivered; True if queued."""
        if self.last_ts is not None and bar.ts <= self.last_ts:
            return False  # already delivered: a backfill and the stream overlap
        await sink.put_bar(bar)
        self.last_ts = bar.ts
        return True

    async def warm_up(self, sink: BarSink, bars: Sequence[Bar]) -> None:
        """Deliver the bars fetched at start (closed, oldest first): the warm-up history, then
        after a restart the missed bars still recent enough to trade. Closed bars older than
        that are not news: the next bar delivered is one that closes from now on."""
        history, live = split_resumed(bars, self._resume_ts, self.lookback_bars, self.label)
        for i, bar in enumerate(history):
            await sink.put_bar(bar, history=True, last_history=i == len(history) - 1)
        log.info("%s: %d history bar(s) loaded%s", self.label, len(history),
                 f" up to {iso_z(history[-1].ts)}" if history else "")
        if history:
            self.last_ts = history[-1].ts
        for bar in live:
            await self.deliver(sink, bar)
        if bars and (self.last_ts is None or self.last_ts < bars[-1].ts):
            self.last_ts = bars[-1].ts

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

"""A basket's time steps: the bars of several symbols, grouped by time, on Backtrader's thread.

A bot trading a basket has one ``LiveFeed`` per symbol and one ``BarSink`` that its source fills
with bars tagged by symbol. ``BasketClock`` reads that queue and hands out steps: the bars of
every symbol for one time, each staged on its feed.

- History (warm-up, sent per symbol and all before the source says ``LIVE``) is held until the
  source goes live, then handed out merged by time, exactly as a replay steps through the files.
  A source that sends every bar in one time order with its steps marked done (``in_order``, the
  basket's file source) needs no gathering: its bars step as they come.
- A live step runs once every symbol's bar for its time is in, or the source says the step is
  complete (``BarSink.step_done``), or a bar of a later time arrives, or ``align_seconds`` after
  the first of its bars arrived (0: no timer). A symbol whose bar is late or missing (an illiquid
  pair, a closed market) so never stalls the others; it has no bar, and no decision, in that
  step. Its bar arriving after the step ran is logged and dropped: a feed never gets a bar twice
  or out of order.
"""
from __future__ import annotations

import logging
import math
import queue
import time
from collections import deque
from typing import Callable, Sequence

from feeds.live import _BAR, _END, _STATUS, _STEP, _WAKE, LIVE, BarSink, LiveFeed
from trading.core.timeutil import iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)

IDLE_WAIT = 0.05  # seconds one call waits for news before the Cerebro loop goes round


class BasketClock:
    """Steps of a basket's feeds (see the module docstring); used on the Cerebro thread only."""

    def __init__(self, sink: BarSink, symbols: Sequence[str], interval_seconds: float,
                 align_seconds: float, in_order: bool = False,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.symbols = tuple(symbols)
        self.feeds: list[LiveFeed] = []
        self.interval = float(interval_seconds)
        self.align = float(align_seconds)
        self._now = monotonic
        # history held until the source goes live (None then, or from the start when in order)
        self._history: list[tuple[Bar, bool, bool, int]] | None = None if in_order else []
        self._waiting: dict[float, dict[int, tuple[Bar, bool, bool]]] = {}  # ts -> symbol -> bar
        self._first_seen: dict[float, float] = {}  # ts -> when its first bar came (monotonic)
        self._complete_through = -math.inf  # the source said every step up to here is in
        self._ready: deque[tuple[float, dict[int, tuple[Bar, bool, bool]]]] = deque()
        self._released = -math.inf  # the last step handed out
        self._in_step = False
        self._ended = False
        self._source_ended = False  # its end came; the steps still due go first

    def attach(self, feeds: Sequence[LiveFeed]) -> None:
        """The feeds, one per symbol in the basket's order."""
        if len(feeds) != len(self.symbols):
            raise ValueError(f"{len(self.symbols)} symbols but {len(feeds)} feeds")
        self.feeds = list(feeds)

    # -- Cerebro's loop calls this -------------------------------------------------------------
    def next_step(self) -> list[LiveFeed] | None | bool:
        """Stage the next step's bars on their feeds and return those feeds; None when no step
        is due yet (news between bars, or nothing); False once the source ended."""
        self._in_step = False
        if self._ended:
            return False
        if self.sink.stop_requested:
            return self._end()
        wait = IDLE_WAIT
        while True:
            if self._ready:
                return self._hand_out(*self._ready.popleft())
            if self._source_ended:
                return self._end()
            due = self._due_step()
            if due is not None:
                return self._hand_out(due, self._take(due))
            if self._waiting and self.align > 0:
                first = min(self._waiting)
                wait = max(0.0, min(IDLE_WAIT, self._first_seen[first] + self.align - self._now()))
            try:
                item = self.sink.queue.get(timeout=wait)
            except queue.Empty:
                if self._waiting and self.align > 0:
                    first = min(self._waiting)
                    if self._now() >= self._first_seen[first] + self.align:
                        return self._hand_out(first, self._take(first), timed_out=True)
                return None
            kind = item[0]
            if kind == _BAR:
                self._arrived(item[1], item[2], item[3], item[4])
            elif kind == _STEP:
                self._complete_through = max(self._complete_through, item[1])
            elif kind == _STATUS:
                if item[1] == LIVE:
                    self._go_live()
                for i, feed in enumerate(self.feeds):
                    if i == 0:
                        feed.take_status(item[1])  # told once: the first feed speaks for all
                    else:
                        feed.put_notification(item[1])
            elif kind == _WAKE:
                return None
            elif kind == _END:
                self._go_live()  # a source that ends in its history: what it sent still counts
                self._flush_waiting()
                self._source_ended = True

    def event_ts(self) -> float:
        """The step an order update belongs to: the one in hand, or between steps the one
        forming after the last (as ``LiveFeed.event_ts`` for one symbol)."""
        last = self._released
        if last == -math.inf:
            return 0.0
        return last if self._in_step else last + self.interval

    def bar_at(self, moment: float) -> float:
        """The open time of the step that ``moment`` falls in (see ``LiveFeed.bar_at``)."""
        last = self._released
        if last == -math.inf or not self.interval:
            return moment
        return last + math.floor((moment - last) / self.interval) * self.interval

    # -- what arrives --------------------------------------------------------------------------
    def _arrived(self, bar: Bar, history: bool, last: bool, symbol: int) -> None:
        if not 0 <= symbol < len(self.symbols):
            log.warning("dropped a bar for symbol #%d: the basket has %d symbols", symbol,
                        len(self.symbols))
            return
        if self._history is not None and history:
            self._history.append((bar, history, last, symbol))
            return
        if self._ready and self._join_ready(bar, history, last, symbol):
            return
        if bar.ts <= self._released:
            log.warning("%s: bar %s came after its step ran; dropped (a late bar is never "
                        "delivered out of order)", self.symbols[symbol], iso_z(bar.ts))
            return
        step = self._waiting.get(bar.ts)
        if step is None:
            step = self._waiting[bar.ts] = {}
            self._first_seen[bar.ts] = self._now()
        if symbol in step:
            log.debug("%s: duplicate bar %s dropped", self.symbols[symbol], iso_z(bar.ts))
            return
        step[symbol] = (bar, history, last)

    def _join_ready(self, bar: Bar, history: bool, last: bool, symbol: int) -> bool:
        """A bar whose time is a gathered step not handed out yet joins it (a symbol whose
        history ended before another's)."""
        for ts, step in self._ready:
            if ts == bar.ts:
                step.setdefault(symbol, (bar, history, last))
                return True
        return False

    def _go_live(self) -> None:
        """The source finished its history: hand it out merged by time (a stable sort keeps
        each symbol's own order)."""
        history, self._history = self._history, None
        if not history:
            return
        steps: dict[float, dict[int, tuple[Bar, bool, bool]]] = {}
        for bar, flag, last, symbol in sorted(history, key=lambda one: one[0].ts):
            steps.setdefault(bar.ts, {}).setdefault(symbol, (bar, flag, last))
        self._ready.extend(sorted(steps.items()))

    def _due_step(self) -> float | None:
        """The earliest waiting step that may run now without a timer, or None."""
        if not self._waiting or self._history is not None:
            return None
        first = min(self._waiting)
        if (len(self._waiting[first]) == len(self.symbols) or first <= self._complete_through
                or len(self._waiting) > 1):  # a later bar came: this step has what it gets
            return first
        return None

    def _take(self, ts: float) -> dict[int, tuple[Bar, bool, bool]]:
        self._first_seen.pop(ts, None)
        return self._waiting.pop(ts)

    def _flush_waiting(self) -> None:
        for ts in sorted(self._waiting):
            self._ready.append((ts, self._take(ts)))

    def _hand_out(self, ts: float, bars: dict[int, tuple[Bar, bool, bool]],
                  timed_out: bool = False) -> list[LiveFeed]:
        if timed_out:
            missing = [self.symbols[i] for i in range(len(self.symbols)) if i not in bars]
            log.info("step %s ran without %s: no bar within data.align_seconds %gs",
                     iso_z(ts), ", ".join(missing), self.align)
        self._released = max(self._released, ts)
        self._in_step = True
        feeds = []
        for i in sorted(bars):
            bar, history, last = bars[i]
            feed = self.feeds[i]
            feed.stage(bar, history, last)
            feeds.append(feed)
        return feeds

    def _end(self) -> bool:
        self._ended = True
        for feed in self.feeds:
            feed.end()
        return False

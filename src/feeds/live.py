"""The live data path: sources on the I/O thread hand closed bars to Backtrader through a queue.

A ``BarSource`` (file replay, exchange WebSocket, broker gateway ...) runs as a coroutine on the
bot's I/O thread and pushes into a ``BarSink``; ``LiveFeed`` is the Backtrader feed that takes
them out on Backtrader's thread. The sink's bounded ``queue.Queue`` is the only thing the two
threads share. The producer never blocks the event loop (a full queue is waited out with
``asyncio.sleep``) and the consumer wakes as soon as a bar arrives (a blocking ``get`` with
Cerebro's ``qcheck`` as the timeout).

Sources say where they are with Backtrader's data states: ``DELAYED`` while they deliver
warm-up history, ``LIVE`` once live bars start, ``CONNBROKEN`` while reconnecting and
``DISCONNECTED`` at the end.
"""
from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
from typing import Callable, Protocol

import backtrader as bt

from feeds.bar_checks import bar_problem
from feeds.timeframe import backtrader_timeframe
from trading.core.timeutil import bt_date_number, iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)

# Backtrader's data states, re-exported so that sources need not import Backtrader
CONNECTED = bt.feed.DataBase.CONNECTED
DISCONNECTED = bt.feed.DataBase.DISCONNECTED
CONNBROKEN = bt.feed.DataBase.CONNBROKEN
DELAYED = bt.feed.DataBase.DELAYED
LIVE = bt.feed.DataBase.LIVE

# queue item kinds: (_BAR, bar, history, last, symbol), (_STATUS, s), (_END,), (_WAKE,),
# (_STEP, ts): a basket's source says every symbol's bar for time ts is in
_BAR, _STATUS, _END, _WAKE, _STEP = 0, 1, 2, 3, 4


class SinkClosed(Exception):
    """The consuming feed has stopped: the source should stop producing (and return)."""


class BarSink:
    """The producer side of a live feed; its ``put_*`` coroutines run on the I/O thread.

    ``maxsize`` bounds the queue (memory, and how far the producer may run ahead); while it is
    full the producer sleeps ``poll_seconds`` at a time, leaving the event loop free.
    """

    def __init__(self, maxsize: int = 1024, poll_seconds: float = 0.002) -> None:
        if maxsize < 1:
            raise ValueError(f"BarSink needs maxsize >= 1, got {maxsize}")
        self.queue: queue.Queue = queue.Queue(maxsize)
        self.poll_seconds = poll_seconds
        self._closed = False
        self._stop = threading.Event()
        self._contact = asyncio.Event()  # set on the I/O thread when the source first gets through

    async def put_bar(self, bar: Bar, history: bool = False, last_history: bool = False,
                      symbol: int = 0) -> None:
        """Queue one closed bar; ``history`` for warm-up bars, ``last_history`` on the last one;
        ``symbol``: the bar's place in a basket's symbols (0 in a one-symbol bot)."""
        await self._put((_BAR, bar, history, last_history, symbol))

    async def step_done(self, ts: float) -> None:
        """A basket's source that knows it: every symbol's bar for time ``ts`` is queued (or
        has none), so the step may run without waiting (``feeds.basket_clock``)."""
        await self._put((_STEP, ts))

    async def put_status(self, state: int) -> None:
        """Queue a data state change (``DELAYED``, ``LIVE``, ``CONNBROKEN``, ``DISCONNECTED``)."""
        await self._put((_STATUS, state))

    async def end(self) -> None:
        """No more bars will come: the feed ends (and Cerebro's run with it) once it drains."""
        await self._put((_END,))

    def close(self) -> None:
        """Called by the consumer when it stops: later ``put_*`` calls raise ``SinkClosed``."""
        self._closed = True

    def request_stop(self) -> None:
        """Ask the consuming feed to end after the bar in hand; safe from any thread (a signal
        handler, the I/O thread). Bars still queued are not delivered."""
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        """Wake the consuming feed now, between bars (a fill, a stop request); thread-safe and
        never blocks. A full queue needs no wake: its next bar wakes the feed."""
        try:
            self.queue.put_nowait((_WAKE,))
        except queue.Full:
            pass

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def connected(self) -> bool:
        """True once the source got through: a bar (history or live) or the LIVE state came."""
        return self._contact.is_set()

    async def wait_connected(self) -> None:
        """Return once ``connected`` (on the I/O thread's loop)."""
        await self._contact.wait()

    async def _put(self, item: tuple) -> None:
        while True:
            if self._closed:
                raise SinkClosed("the live feed has stopped taking bars")
            try:
                self.queue.put_nowait(item)
                break
            except queue.Full:
                await asyncio.sleep(self.poll_seconds)
        if item[0] == _BAR or item == (_STATUS, LIVE):
            self._contact.set()


class BarSource(Protocol):
    """Anything that produces bars for a ``LiveFeed``; ``run`` executes on the I/O thread.

    ``run`` first delivers history (``history=True``, the last one ``last_history=True``, state
    ``DELAYED``), then live closed bars (state ``LIVE``), until it is done (then ``sink.end()``)
    or cancelled. It returns quietly when the sink raises ``SinkClosed``.
    """

    async def run(self, sink: BarSink) -> None: ...

    def resume_after(self, ts: float | None) -> None:
        """Before ``run``: the last bar a previous run traded; later bars are delivered live."""

    def describe(self) -> str: ...

    # optional: ``market_closes = True`` on a source whose market has sessions (stocks, futures):
    # the feed then takes gaps between bars for closed hours, not missed bars


class LiveFeed(bt.feed.DataBase):
    """A Backtrader feed that takes closed bars from a ``BarSink``'s queue as they arrive.

    Bars at or before the last delivered time are dropped (duplicates, out-of-order); a gap of
    more than ``interval_seconds`` among live bars is logged as a warning, unless
    ``market_closes`` (a market with sessions: nights, weekends and holidays have no bars). An
    invalid bar (``feeds.bar_checks``: a price of 0, a close above the high, ...) is dropped with a
    warning and reported to ``on_invalid(message)``, so nothing ever trades or warms up on it. The
    strategy reads the bar through ``current_bar()`` and asks ``is_warmup()`` /
    ``is_last_warmup()``; the bot's status report reads ``last_bar_ts`` and ``status``.
    ``on_status(name)``, when given, hears each data state change on Backtrader's thread.
    ``live_name`` is what ``status`` and ``on_status`` call the live state: a file replayed as a
    live feed says ``REPLAY``, as no market data arrives now.
    """

    params = (("sink", None), ("interval_seconds", 0), ("on_invalid", None), ("on_status", None),
              ("market_closes", False), ("live_name", "LIVE"), ("clock", None))

    IDLE_WAIT = 0.05  # seconds a _load waits for a bar when Cerebro gives no qcheck

    def __init__(self) -> None:
        if not isinstance(self.p.sink, BarSink):
            raise TypeError(f"LiveFeed needs sink=BarSink, got {type(self.p.sink).__name__}")
        if self.p.fromdate is not None or self.p.todate is not None or self.p.filters:
            raise ValueError("LiveFeed does not filter: its source decides which bars to send")
        self._queue = self.p.sink.queue
        self._interval = float(self.p.interval_seconds or 0)
        if self.p.timeframe == bt.TimeFrame.Days and self.p.compression == 1 and self._interval:
            self.p.timeframe, self.p.compression = backtrader_timeframe(self._interval)
        self._reset()

    def _reset(self) -> None:
        self._bar: Bar | None = None
        self._history = False
        self._last_history = False
        self._ended = False
        self._in_bar = False
        self._staged: tuple | None = None  # a basket clock's bar for this feed's next step
        self.last_bar_ts: float | None = None

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return not self._queue.empty()

    def start(self) -> None:
        super().start()
        self._reset()

    def stop(self) -> None:
        super().stop()
        self.p.sink.close()  # a producer waiting on a full queue must not wait forever

    @property
    def status(self) -> str:
        """The name of the last data state (``CONNECTED`` before the source said anything)."""
        return self._state_name(getattr(self, "_laststatus", CONNECTED))

    def _state_name(self, state: int) -> str:
        return self.p.live_name if state == LIVE else self._getstatusname(state)

    # -- Backtrader pulls here -------------------------------------------------------------------
    def load(self) -> bool | None:
        """Deliver the next accepted bar: True, None when nothing arrived yet, False at the end.

        Backtrader's own ``load()`` moves the line buffers forward before asking ``_load()`` and
        back again when nothing came. With ``exactbars=1`` a buffer holds a single slot, so that
        round trip drops the last bar and the broker then fails reading it while the feed idles.
        Here the buffers move only once a bar is in hand.
        """
        self._in_bar = False  # the bar delivered last is done: what happens now is between bars
        if self.p.clock is not None:  # a basket: the clock hands each step's bars out
            return self._load_staged()
        if self._ended:
            return False
        if self.p.sink.stop_requested:
            self._ended = True
            self.put_notification(DISCONNECTED)
            return False
        wait = self._qcheck or self.IDLE_WAIT
        while True:
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                return None  # nothing yet: Cerebro loops (notifications, timers, stop requests)
            kind = item[0]
            if kind == _BAR:
                if self._accept(item[1], item[2]):
                    self._bar, self._history, self._last_history = item[1], item[2], item[3]
                    self._in_bar = True
                    return True
            elif kind == _WAKE:
                return None  # between bars: Cerebro's loop runs (fills, stop requests) now
            elif kind == _STATUS:
                self.take_status(item[1])
            elif kind == _END:
                self._ended = True
                self.put_notification(DISCONNECTED)
                return False

    # -- a basket's feeds: the clock (feeds.basket_clock) reads the queue and stages each step ---
    def stage(self, bar: Bar, history: bool, last_history: bool) -> None:
        """The clock's bar for this feed in the step about to run (``next()`` delivers it)."""
        self._staged = (bar, history, last_history)

    def _load_staged(self) -> bool | None:
        staged, self._staged = self._staged, None
        if staged is None or not self._accept(staged[0], staged[1]):
            return None
        self._bar, self._history, self._last_history = staged
        self._in_bar = True
        return True

    def take_status(self, state: int) -> None:
        """A data state change from the source: kept, and told to ``on_status``."""
        self.put_notification(state)
        if self.p.on_status is not None:  # e.g. the bot raising a status event
            self.p.on_status(self._state_name(state))

    def end(self) -> None:
        """The source ended (a basket's clock says so for every feed)."""
        self._ended = True
        self.put_notification(DISCONNECTED)

    def _accept(self, bar: Bar, history: bool) -> bool:
        problem = bar_problem(bar)
        if problem is not None:
            self._drop_invalid(bar, problem)
            return False
        last = self.last_bar_ts
        if last is not None:
            if bar.ts <= last:
                log.log(logging.DEBUG if bar.ts == last else logging.INFO,
                        "%s: dropped %s bar %s (already at %s)", self._label(),
                        "duplicate" if bar.ts == last else "out-of-order", iso_z(bar.ts),
                        iso_z(last))
                return False
            if self._interval and bar.ts - last > self._interval:
                # a gap among live bars means missed bars; in history it is the market's own gap
                missing = round((bar.ts - last) / self._interval) - 1
                log.log(logging.INFO if history or self.p.market_closes else logging.WARNING,
                        "%s: gap: no bars between %s and %s (%d bar(s) of %gs missing)",
                        self._label(), iso_z(last), iso_z(bar.ts), missing, self._interval)
        self.last_bar_ts = bar.ts
        self.forward()
        lines = self.lines
        lines.datetime[0] = bt_date_number(bar.ts)
        lines.open[0], lines.high[0], lines.low[0] = bar.open, bar.high, bar.low
        lines.close[0], lines.volume[0], lines.openinterest[0] = bar.close, bar.volume, 0.0
        return True

    def _drop_invalid(self, bar: Bar, problem: str) -> None:
        at = "" if problem.startswith("time ") else f" {iso_z(bar.ts)}"  # a bad time says itself
        message = f"{self._label()}: dropped invalid bar{at}: {problem}"
        log.warning("%s", message)
        report: Callable[[str], None] | None = self.p.on_invalid
        if report is not None:
            report(message)

    def _label(self) -> str:
        return self.p.name or self.p.dataname or "live feed"

    # -- what the strategy reads -----------------------------------------------------------------
    def current_bar(self) -> Bar:
        """The bar just delivered, exactly as the source sent it."""
        return self._bar

    def is_warmup(self) -> bool:
        """True when the current bar is warm-up history (the strategy must not trade on it)."""
        return self._history

    def is_last_warmup(self) -> bool:
        """True on the last history bar: the moment to re-place restored orders."""
        return self._last_history

    def bar_at(self, moment: float) -> float:
        """The open time of the bar (on this feed's grid) that ``moment`` (epoch seconds) falls
        in: where a fill made while the bot was away belongs."""
        if self.p.clock is not None:
            return self.p.clock.bar_at(moment)
        bar = self._bar
        if bar is None or not self._interval:
            return moment
        return bar.ts + math.floor((moment - bar.ts) / self._interval) * self._interval

    def event_ts(self) -> float:
        """The bar an order update belongs to now: the bar in hand while Cerebro handles it;
        between bars, the one forming after it (a fill reported after bar N closed happened
        in bar N+1, as a replay's fill at N+1's open does). In a basket: the step's."""
        if self.p.clock is not None:
            return self.p.clock.event_ts()
        bar = self._bar
        if self._in_bar or bar is None:
            return bar.ts if bar is not None else 0.0
        return bar.ts + self._interval

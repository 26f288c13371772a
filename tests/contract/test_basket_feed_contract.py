"""The feed contract for a basket: every data source, with three symbols, behaves the same.

Per symbol: closed bars only, each once, in order; warm-up history flagged with its last bar
marked, every symbol's history before the source says LIVE (once); a time marked complete
(``step_done``) gets no bar afterwards; through ``BasketClock`` the strategy sees each symbol's
bars in time steps; after a restart (``resume_after``) the bars missed since are traded and the
ones before only warm up; a broken connection is backfilled with no gap and no double.
The cases are in ``contract.basket_cases``; the one-symbol contract in ``test_feed_contract``.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import backtrader as bt
import pytest

from contract.basket_cases import BASKET_KINDS, LOOKBACK, BasketCase
from contract.test_feed_contract import RUN_TIMEOUT, drain
from feeds.basket_clock import BasketClock
from feeds.live import _BAR, _STATUS, _STEP, BarSink, LiveFeed
from strategies.mixins.base import Bar
from trading.runtime.cerebro import BotCerebro
from trading.runtime.io_thread import IOThread

RESUME_CLOSED = LOOKBACK + 10  # closed when a restarted bot starts
RESUME_TRADED = LOOKBACK + 4  # the last bar it had traded: 5 were missed while it was down


@pytest.fixture(params=sorted(BASKET_KINDS))
def kind(request):
    return request.param


@pytest.fixture
def open_case(kind, tmp_path):
    made: list[BasketCase] = []

    def open_(closed_at_start: int = LOOKBACK) -> BasketCase:
        made.append(BASKET_KINDS[kind](tmp_path, closed_at_start))
        return made[-1]
    yield open_
    for case in made:
        case.stop()


@dataclass
class Collected:
    """What a source put on its sink: every item, in order."""

    items: list[tuple]
    timed_out: bool

    def bars(self, symbol: int) -> list[Bar]:
        return [item[1] for item in self.items if item[0] == _BAR and item[4] == symbol]

    def flags(self, symbol: int) -> list[tuple[bool, bool]]:
        """(history, last history) of each of the symbol's bars."""
        return [(item[2], item[3]) for item in self.items if item[0] == _BAR and item[4] == symbol]

    def states(self) -> list[tuple[str, int]]:
        """Each data state, with how many bars came before it."""
        names = {bt.feed.DataBase.DELAYED: "DELAYED", bt.feed.DataBase.LIVE: "LIVE",
                 bt.feed.DataBase.CONNBROKEN: "CONNBROKEN"}
        out, bars = [], 0
        for item in self.items:
            if item[0] == _BAR:
                bars += 1
            elif item[0] == _STATUS:
                out.append((names.get(item[1], str(item[1])), bars))
        return out


def collect(case: BasketCase, io: IOThread, resume_ts: float | None = None,
            break_after: int | None = None) -> Collected:
    """Run the case's source into a sink until each symbol has put its last closed bar (or the
    time runs out), and a moment more for a bar put twice at the end."""
    source, is_live = case.make_source()
    source.resume_after(resume_ts)
    sink = BarSink(maxsize=sum(len(bars) for bars in case.closed) + 1024)
    waiting = {i: bars[-1].ts for i, bars in enumerate(case.closed)}
    task = io.submit(source.run(sink), name=f"source {source.describe()}")
    case.play(is_live, break_after)
    items: list[tuple] = []
    deadline = threading.Event()
    timer = threading.Timer(RUN_TIMEOUT, deadline.set)
    timer.start()
    try:
        while waiting and not deadline.is_set():
            if task.done() and sink.queue.empty():
                break
            try:
                item = sink.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            items.append(item)
            if item[0] == _BAR and waiting.get(item[4]) == item[1].ts:
                del waiting[item[4]]
        items += drain(sink, 0.2)
    finally:
        timer.cancel()
        sink.close()
        task.cancel()
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()
    return Collected(items, deadline.is_set())


def assert_each_closed_bar_once_in_order(case: BasketCase, got: Collected) -> list[int]:
    """Each symbol's closed bars, each once, in order: a run of them with nothing missing, up
    to its last; returns where each symbol's run starts in ``case.closed``."""
    assert not got.timed_out, f"the source did not offer every bar within {RUN_TIMEOUT:g}s"
    starts = []
    for i, symbol in enumerate(case.symbols):
        bars = got.bars(i)
        ts = [bar.ts for bar in bars]
        assert all(a < b for a, b in zip(ts, ts[1:])), f"{symbol}: a bar repeated or out of order"
        closed = case.closed[i]
        assert bars and bars[0] in closed, f"{symbol}: no bar, or a first bar never closed"
        first = closed.index(bars[0])
        end = next((k + 1 for k, bar in enumerate(bars) if bar.ts == closed[-1].ts), len(bars))
        assert bars[:end] == closed[first:], f"{symbol}: a bar missing or changed"
        assert not set(bars) & set(case.forming), f"{symbol}: a bar still forming was delivered"
        starts.append(first)
    return starts


def assert_steps_marked_done_get_no_bar(got: Collected) -> None:
    done = float("-inf")
    for item in got.items:
        if item[0] == _STEP:
            done = max(done, item[1])
        elif item[0] == _BAR and not item[2]:
            assert item[1].ts > done, f"a bar of {item[1].ts} came after its step was marked done"


def test_each_symbols_closed_bars_come_once_in_order_history_first(open_case, io):
    case = open_case()
    got = collect(case, io)
    starts = assert_each_closed_bar_once_in_order(case, got)
    for i, symbol in enumerate(case.symbols):
        live = len(case.closed[i]) - starts[i] - LOOKBACK
        history = [True] * LOOKBACK + [False] * live
        assert [h for h, _ in got.flags(i)][:len(history)] == history, symbol
        assert [k for k, (_, last) in enumerate(got.flags(i)) if last] == [LOOKBACK - 1], symbol
    states = got.states()
    assert states[0] == ("DELAYED", 0)
    assert [s for s, _ in states].count("LIVE") == 1
    live_at = dict(states)["LIVE"]  # every symbol's history came before the source went live
    assert live_at == LOOKBACK * len(case.symbols)
    assert_steps_marked_done_get_no_bar(got)


class BasketRecorder(bt.Strategy):
    """What the strategy sees: each symbol's bars as its feed takes them, step by step."""

    params = (("stop_after", None),)

    def __init__(self) -> None:
        self.seen: list[list[tuple[Bar, bool, bool]]] = [[] for _ in self.datas]
        self.steps = 0
        self._lengths = [0] * len(self.datas)

    def prenext(self) -> None:  # some symbol has had no bar yet: its step counts all the same
        self.next()

    def next(self) -> None:
        self.steps += 1
        for i, data in enumerate(self.datas):
            if len(data) > self._lengths[i]:  # this symbol had a bar in the step
                self._lengths[i] = len(data)
                self.seen[i].append((data.current_bar(), data.is_warmup(), data.is_last_warmup()))
        if sum(map(len, self.seen)) >= self.p.stop_after:
            self.env.runstop()


def test_the_strategy_sees_each_symbols_bars_in_time_steps(open_case, io, caplog):
    caplog.set_level(logging.INFO, logger="feeds.basket_clock")
    case = open_case()
    source, is_live = case.make_source()
    sink = BarSink(maxsize=16)  # small: the producer has to wait on the consumer
    clock = BasketClock(sink, case.symbols, case.interval_seconds, case.align_seconds,
                        in_order=bool(getattr(source, "in_time_order", False)))
    feeds = [LiveFeed(sink=sink, interval_seconds=case.interval_seconds, clock=clock, name=s)
             for s in case.symbols]
    cerebro = BotCerebro(stdstats=False, runonce=False, preload=False, exactbars=1)
    for symbol, feed in zip(case.symbols, feeds):
        cerebro.adddata(feed, name=symbol)
    clock.attach(feeds)
    cerebro.basket_clock = clock
    seen_from = [max(0, sum(1 for b in bars if b.ts <= case.lead[LOOKBACK - 1].ts) - LOOKBACK)
                 for bars in case.closed]  # each symbol's first history bar
    cerebro.addstrategy(BasketRecorder,
                        stop_after=sum(len(c) - k for c, k in zip(case.closed, seen_from)))
    task = io.submit(source.run(sink), name=f"source {source.describe()}")
    case.play(is_live, None)
    timed_out = threading.Event()
    watchdog = threading.Timer(RUN_TIMEOUT, lambda: (timed_out.set(), cerebro.runstop()))
    watchdog.start()
    try:
        seen = cerebro.run()[0]
    finally:
        watchdog.cancel()
        task.cancel()
    assert not timed_out.is_set(), f"the run did not see every bar within {RUN_TIMEOUT:g}s"
    for i, symbol in enumerate(case.symbols):
        closed = case.closed[i][seen_from[i]:]
        assert [bar for bar, _, _ in seen.seen[i]] == closed, symbol
        warmup = [w for _, w, _ in seen.seen[i]]
        assert warmup == [True] * LOOKBACK + [False] * (len(closed) - LOOKBACK), symbol
        assert [k for k, (_, _, last) in enumerate(seen.seen[i]) if last] == [LOOKBACK - 1]
    steps = sorted({bar.ts for one in seen.seen for bar, _, _ in one})
    assert seen.steps == len(steps)  # one step per time, a symbol without a bar left out
    # no step ran short for a timer, and no bar came after its step: the source said when
    # each step was complete, or each bar came in time order across the basket
    assert not [r.getMessage() for r in caplog.records if r.name == "feeds.basket_clock"]


def test_a_restart_trades_the_missed_bars_and_only_warms_up_on_the_rest(open_case, io):
    case = open_case(RESUME_CLOSED)
    traded = case.lead[RESUME_TRADED - 1].ts
    got = collect(case, io, resume_ts=traded)
    assert_each_closed_bar_once_in_order(case, got)
    for i, symbol in enumerate(case.symbols):
        bars, flags = got.bars(i), got.flags(i)
        history = [bar for bar, (h, _) in zip(bars, flags) if h]
        traded_before = [b for b in case.closed[i] if b.ts <= traded]  # (a market closed then
        assert history and history[-1] == traded_before[-1], symbol    # has none at ``traded``)
        assert len(history) >= LOOKBACK, symbol
        assert history == traded_before[-len(history):], symbol
        assert [bar for bar, (h, _) in zip(bars, flags) if not h] == \
            [b for b in case.closed[i] if b.ts > traded], f"{symbol}: a missed bar not traded"
        assert [k for k, (_, last) in enumerate(flags) if last] == [len(history) - 1], symbol
    assert [s for s, _ in got.states()].count("LIVE") == 1
    assert_steps_marked_done_get_no_bar(got)


def test_a_broken_connection_is_backfilled_without_a_gap_or_a_double(open_case, io):
    case = open_case()
    if not case.can_break:
        pytest.skip("this source has no connection to break")
    from contract.basket_cases import BREAK_AFTER

    got = collect(case, io, break_after=BREAK_AFTER)
    assert_each_closed_bar_once_in_order(case, got)
    for i, symbol in enumerate(case.symbols):
        assert sum(h for h, _ in got.flags(i)) == LOOKBACK, f"{symbol}: backfill sent as history"
    names = [s for s, _ in got.states()]
    assert "CONNBROKEN" in names, names
    assert names[-1] == "LIVE" and names.index("CONNBROKEN") > names.index("LIVE")
    assert_steps_marked_done_get_no_bar(got)

"""A basket in one CustomStrategy: per-symbol decisions, max_positions by basket order, missing
bars, and the live clock that steps several feeds (scripted bars, no network)."""
from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from brokers.paper import PaperBroker
from feeds.array_feed import ArrayFeed
from feeds.basket_clock import BasketClock
from feeds.csv_bars import BarArrays
from feeds.live import LIVE, BarSink, LiveFeed
from strategies.custom_strategy import ProtectiveRules, StrategySetup
from strategies.lane import SymbolSetup
from strategies.mixins.base import Bar, EntryMixin, ExitMixin, OpenTrade
from trading.core.client_ids import parse, symbol_tag
from trading.core.protocols import NullListener
from trading.core.settings import RiskConfig, TradingConfig, TrailingStopConfig
from trading.risk import RiskManager
from trading.runtime.cerebro import build_cerebro

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 300
STEP = 300.0


class EnterAt(EntryMixin):
    """Enters on the bars at the given times (per symbol: each lane has its own instance)."""

    name = "EnterAt"
    rule = "scripted"

    def __init__(self, times=()) -> None:
        self.times = set(times)
        self.seen: list[float] = []

    def should_enter(self, bar: Bar) -> bool:
        self.seen.append(bar.ts)
        return bar.ts in self.times


class ExitAt(ExitMixin):
    name = "ExitAt"
    rule = "scripted"

    def __init__(self, times=()) -> None:
        self.times = set(times)

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        return "scripted" if bar.ts in self.times else None


class Recorder(NullListener):
    def __init__(self) -> None:
        self.opened, self.closed, self.orders, self.refused, self.steps = [], [], [], [], []

    def on_trade_opened(self, event, trade):
        self.opened.append((event.symbol, event.time.timestamp(), event.entry_price))

    def on_trade_closed(self, event):
        self.closed.append((event.symbol, event.exit_time.timestamp(), event.exit_price,
                            event.exit_reason))

    def on_order(self, event):
        self.orders.append(event)

    def on_entry_refused(self, bar, rule, message):
        self.refused.append((bar.ts, rule))

    def on_bar_done(self, bar, positions, warmup):
        self.steps.append((bar.ts, sorted(positions)))


def bars(closes: dict[int, float]) -> BarArrays:
    """Bars at step index -> close (open = close - 0.5); missing indexes are missing bars."""
    idx = sorted(closes)
    ts = np.array([T0 + i * STEP for i in idx])
    close = np.array([closes[i] for i in idx])
    return BarArrays(ts, close - 0.5, close + 1, close - 1, close, np.full(len(idx), 10.0))


def risk(max_positions: int, max_exposure: float = 1.0) -> RiskManager:
    return RiskManager(RiskConfig(0.0, 0.0, TrailingStopConfig(False, 0, 0), 0, 0.0, 0, 0),
                       TradingConfig(symbol="AAA", position_size=0.25, max_positions=max_positions,
                                     max_drawdown_pct=0, max_exposure=max_exposure))


def basket_setup(symbols, entries, exits, max_positions, protective=ProtectiveRules()):
    setups = [SymbolSetup(s, EnterAt(entries.get(s, ())), (ExitAt(exits.get(s, ())),))
              for s in symbols]
    first = setups[0]
    return StrategySetup(symbol=first.symbol, entry=first.entry, exits=first.exits,
                         position_size=0.25, protective=protective, risk=risk(max_positions),
                         order_prefix="b1", further_symbols=tuple(setups[1:]))


def replay(symbols, data, entries, exits=None, max_positions=3, protective=ProtectiveRules()):
    rec = Recorder()
    setup = basket_setup(symbols, entries, exits or {}, max_positions, protective)
    feeds = [ArrayFeed(bars=data[s]) for s in symbols]
    cerebro = build_cerebro(feed=feeds[0], broker=PaperBroker(cash=1000.0, commission=0.0),
                            setup=setup, listener=rec, symbol=symbols[0],
                            further_feeds=list(zip(symbols[1:], feeds[1:])))
    strategy = cerebro.run()[0]
    return rec, strategy


def at(i: int) -> float:
    return T0 + i * STEP


def test_when_more_symbols_signal_than_slots_are_free_the_earlier_symbols_win():
    symbols = ["AAA", "BBB", "CCC"]
    data = {s: bars({i: 100.0 + i + k for i in range(6)}) for k, s in enumerate(symbols)}
    rec, _ = replay(symbols, data, {s: {at(1)} for s in symbols}, max_positions=2)
    assert [o[0] for o in rec.opened] == ["AAA", "BBB"]
    assert rec.refused == [(at(1), "max_positions")]
    assert all(o[1] == at(2) for o in rec.opened)  # filled at the next bar's open
    assert rec.steps[-1] == (at(5), ["AAA", "BBB"])


def test_a_slot_freed_by_an_exit_fill_is_taken_on_a_later_bar_not_the_same_one():
    symbols = ["AAA", "BBB"]
    data = {s: bars({i: 100.0 + i for i in range(8)}) for s in symbols}
    rec, _ = replay(symbols, data, {"AAA": {at(1)}, "BBB": {at(3), at(5)}},
                    exits={"AAA": {at(3)}}, max_positions=1)
    # BBB signals at 3 while AAA's exit is still on its way: refused; at 5 the slot is free
    assert rec.refused == [(at(3), "max_positions")]
    assert [(s, t) for s, t, _ in rec.opened] == [("AAA", at(2)), ("BBB", at(6))]
    assert [(s, t) for s, t, _, _ in rec.closed] == [("AAA", at(4))]


def test_max_exposure_counts_every_open_position():
    symbols = ["AAA", "BBB", "CCC"]
    data = {s: bars({i: 100.0 for i in range(5)}) for s in symbols}
    rec = Recorder()
    setups = [SymbolSetup(s, EnterAt({at(1)}), (ExitAt(),)) for s in symbols]
    setup = StrategySetup(symbol="AAA", entry=setups[0].entry, exits=setups[0].exits,
                          position_size=0.25, protective=ProtectiveRules(),
                          risk=risk(3, max_exposure=0.5), order_prefix="b1",
                          further_symbols=tuple(setups[1:]))
    feeds = [ArrayFeed(bars=data[s]) for s in symbols]
    cerebro = build_cerebro(feed=feeds[0], broker=PaperBroker(cash=1000.0, commission=0.0),
                            setup=setup, listener=rec, symbol="AAA",
                            further_feeds=list(zip(symbols[1:], feeds[1:])))
    cerebro.run()
    assert [o[0] for o in rec.opened] == ["AAA", "BBB"]  # 0.25 + 0.25 = 0.5: CCC would exceed
    assert rec.refused == [(at(1), "max_exposure")]


def test_a_symbol_without_a_bar_gets_no_decision_and_its_order_waits_for_its_own_bar():
    symbols = ["AAA", "BBB"]
    data = {"AAA": bars({i: 100.0 + i for i in range(8)}),
            "BBB": bars({0: 50.0, 1: 51.0, 4: 54.0, 5: 55.0, 6: 56.0, 7: 57.0})}  # 2, 3 missing
    rec, strategy = replay(symbols, data, {"BBB": {at(1), at(2), at(3)}})
    # BBB's entry decided at 1 fills at BBB's next bar (4), at its open, not against AAA's steps
    assert [(s, t) for s, t, _ in rec.opened] == [("BBB", at(4))]
    assert rec.opened[0][2] == pytest.approx(53.5)
    assert strategy.lanes[1].entry.seen == [at(0), at(1)]  # no decision at 2 or 3
    assert [step for step, _ in rec.steps] == [at(i) for i in range(8)]


def test_protective_orders_belong_to_their_symbol():
    symbols = ["AAA", "BBB"]
    data = {"AAA": bars({0: 100.0, 1: 100.0, 2: 100.0, 3: 100.0, 4: 100.0}),
            "BBB": bars({0: 50.0, 1: 50.0, 2: 50.0, 3: 40.0, 4: 40.0})}  # BBB falls through its stop
    rec, _ = replay(symbols, data, {s: {at(1)} for s in symbols},
                    protective=ProtectiveRules(stop_loss_pct=5.0))
    assert [(s, r) for s, _, _, r in rec.closed] == [("BBB", "stop_loss")]
    ids = {o.client_order_id for o in rec.orders if o.purpose == "stop_loss"}
    assert {parse(i).tag for i in ids} == {symbol_tag("AAA"), symbol_tag("BBB")}
    assert all(o.symbol == "BBB" for o in rec.orders if o.status == "filled" and o.side == "sell")


# -- the live clock ----------------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def clocked(symbols, align=0.0, in_order=False):
    sink = BarSink()
    time = FakeTime()
    clock = BasketClock(sink, symbols, STEP, align, in_order=in_order, monotonic=time)
    feeds = [LiveFeed(sink=sink, interval_seconds=STEP, clock=clock, name=s) for s in symbols]
    clock.attach(feeds)
    for feed in feeds:
        feed.start()
    return sink, clock, feeds, time


def put(sink, *items):
    async def go():
        for item in items:
            if item == "live":
                await sink.put_status(LIVE)
            elif item == "end":
                await sink.end()
            elif item[0] == "done":
                await sink.step_done(item[1])
            else:
                symbol, i, history = item
                await sink.put_bar(Bar(at(i), 1, 2, 0.5, 1.5, 1), history=history, symbol=symbol)
    asyncio.run(go())


def steps(clock, feeds, limit=50):
    """Every step the clock hands out until it has nothing due: [(time, [symbol index])]."""
    out = []
    for _ in range(limit):
        got = clock.next_step()
        if not got:
            return out, got
        ts = set()
        for feed in got:
            assert feed.next(ticks=False)
            ts.add(feed.current_bar().ts)
        assert len(ts) == 1, "a step's bars have one time"
        out.append((ts.pop(), [next(i for i, k in enumerate(feeds) if k is f) for f in got]))
    raise AssertionError("the clock never ran dry")


def test_history_sent_symbol_by_symbol_steps_in_time_order_once_the_source_is_live():
    sink, clock, feeds, _ = clocked(["A", "B"])
    put(sink, (0, 0, True), (0, 1, True), (0, 2, True), (1, 1, True), (1, 2, True), "live")
    got, _ = steps(clock, feeds)
    assert got == [(at(0), [0]), (at(1), [0, 1]), (at(2), [0, 1])]


def test_a_live_step_waits_for_every_symbol_then_runs_at_once():
    sink, clock, feeds, _ = clocked(["A", "B", "C"], align=5.0)
    put(sink, "live", (0, 0, False), (2, 0, False))
    assert steps(clock, feeds)[0] == []  # B's bar has not come, and the window is open
    put(sink, (1, 0, False))
    assert steps(clock, feeds)[0] == [(at(0), [0, 1, 2])]


def test_a_late_symbol_never_stalls_the_others_and_its_late_bar_is_dropped(caplog):
    sink, clock, feeds, time = clocked(["A", "B"], align=2.0)
    put(sink, "live", (0, 0, False))
    assert steps(clock, feeds)[0] == []
    time.now = 2.5  # the window has passed
    assert steps(clock, feeds)[0] == [(at(0), [0])]
    with caplog.at_level(logging.WARNING):
        put(sink, (1, 0, False), (0, 1, False), (1, 1, False))
        got, _ = steps(clock, feeds)
    assert got == [(at(1), [0, 1])]
    assert "B: bar " in caplog.text and "came after its step ran; dropped" in caplog.text
    assert feeds[1].last_bar_ts == at(1)


def test_a_later_bar_or_the_source_closes_a_step_without_the_timer():
    sink, clock, feeds, _ = clocked(["A", "B"])  # align 0: no timer at all
    put(sink, "live", (0, 0, False), (0, 1, False))  # B has no bar at 0
    assert steps(clock, feeds)[0] == [(at(0), [0])]
    put(sink, ("done", at(1)))
    assert steps(clock, feeds)[0] == [(at(1), [0])]
    put(sink, (1, 2, False), "end")
    got, end = steps(clock, feeds)
    assert got == [(at(2), [1])] and end is False


def test_event_time_is_the_step_in_hand_then_the_one_forming():
    sink, clock, feeds, _ = clocked(["A", "B"])
    put(sink, "live", (0, 3, False), (1, 3, False))
    assert clock.event_ts() == 0.0
    got = clock.next_step()
    assert len(got) == 2 and clock.event_ts() == at(3)
    assert clock.next_step() is None
    assert clock.event_ts() == at(4)
    assert clock.bar_at(at(5) + 17) == at(5)


@pytest.mark.parametrize("n", [1, 2])
def test_a_feed_out_of_the_basket_clock_refuses_a_wrong_count(n):
    sink = BarSink()
    clock = BasketClock(sink, ["A", "B", "C"], STEP, 0.0)
    with pytest.raises(ValueError, match="3 symbols but"):
        clock.attach([LiveFeed(sink=sink, interval_seconds=STEP, clock=clock)] * n)

"""CustomStrategy on scripted bars: fills, exit reasons, protective orders, risk refusals, warm-up."""
from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta, timezone

import backtrader as bt
import pandas as pd
import pytest

from brokers.mock import MockBroker
from brokers.paper import BrokerSnapshot, PaperBroker
from strategies.custom_strategy import CustomStrategy, ProtectiveRules, StrategySetup
from trading.core.types import PendingOrder
from trading.core.protocols import NullListener
from strategies.mixins.base import Bar, EntryMixin, ExitMixin, OpenTrade, Param
from strategies.mixins.registry import MixinRegistry
from trading.core.settings import RiskConfig, TrailingStopConfig, TradingConfig
from trading.risk import RiskManager

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
REGISTRY = MixinRegistry.discover()
COMMISSION = 0.001


class ScriptedEntry(EntryMixin):
    """Enters on the bars whose close is in ``e_on_closes`` (crafted so each close is unique)."""

    name = "ScriptedEntry"
    rule = "enter on chosen closes"
    params = (Param("e_on", float, 0.0, "close that triggers"),)
    closes: set[float] = set()

    def should_enter(self, bar: Bar) -> bool:
        return bar.close in self.closes


class ScriptedExit(ExitMixin):
    name = "ScriptedExit"
    rule = "exit on chosen closes"
    closes: set[float] = set()

    def on_entry(self, trade: OpenTrade) -> None:
        trade.state[self.name] = {"seen": 0}

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        trade.state[self.name]["seen"] += 1
        return "scripted" if bar.close in self.closes else None


class Recorder(NullListener):
    def __init__(self) -> None:
        self.opened, self.closed, self.orders, self.refused, self.states = [], [], [], [], []

    def on_trade_opened(self, event, trade):
        self.opened.append(event)

    def on_trade_closed(self, event):
        self.closed.append(event)

    def on_order(self, event):
        self.orders.append(event)

    def on_entry_refused(self, bar, rule, message):
        self.refused.append((bar.close, rule, message))

    def on_bar_done(self, bar, positions, warmup):
        for trade in positions.values():
            self.states.append(copy.deepcopy(trade.to_dict()))


class WarmupPandasData(bt.feeds.PandasData):
    params = (("warmup_bars", 0),)

    def is_warmup(self) -> bool:
        return len(self) <= self.p.warmup_bars

    def is_last_warmup(self) -> bool:
        return len(self) == self.p.warmup_bars


def frame(rows: list[tuple[float, float, float, float]], minutes: int = 60) -> pd.DataFrame:
    index = [T0.replace(tzinfo=None) + timedelta(minutes=minutes * i) for i in range(len(rows))]
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    df["volume"] = 100.0
    return df


def flat(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def risk_manager(**overrides) -> RiskManager:
    risk = dict(stop_loss_pct=0.0, take_profit_pct=0.0,
                trailing_stop=TrailingStopConfig(False, 0.0, 2.0), max_daily_trades=0,
                max_daily_loss=0.0, max_orders_per_minute=0, max_consecutive_errors=5)
    trading = dict(symbol="TEST", position_size=0.5, max_positions=1, max_drawdown_pct=0.0,
                   max_exposure=1.0)
    for key, value in overrides.items():
        (risk if key in risk else trading)[key] = value
    return RiskManager(RiskConfig(**risk), TradingConfig(**trading))


def run(rows, enter_on, exit_on=(), protective=ProtectiveRules(), risk=None, warmup=0,
        restored_trade=None, restored_orders=(), position_size=0.5, cash=1000.0, minutes=60,
        more_exits=()):
    entry, exit_ = ScriptedEntry(), ScriptedExit()
    entry.closes, exit_.closes = set(enter_on), set(exit_on)
    setup = StrategySetup(symbol="TEST", entry=entry, exits=(exit_, *more_exits),
                          position_size=position_size,
                          protective=protective, risk=risk, restored_trade=restored_trade,
                          restored_orders=restored_orders)
    rec = Recorder()
    cerebro = bt.Cerebro(stdstats=False)
    data = WarmupPandasData(dataname=frame(rows, minutes), warmup_bars=warmup)
    cerebro.adddata(data)
    if restored_trade is not None:
        snapshot = BrokerSnapshot(cash=cash - restored_trade.size * restored_trade.entry_price,
                                  position_size=restored_trade.size,
                                  position_price=restored_trade.entry_price)
        cerebro.setbroker(PaperBroker(cash=cash, commission=COMMISSION, restore=snapshot))
    else:
        cerebro.setbroker(MockBroker(cash=cash, commission=COMMISSION))
    cerebro.addstrategy(CustomStrategy, setup=setup, listener=rec)
    cerebro.run()
    return rec, cerebro


def test_entry_fills_at_next_open_and_mixin_exit_records_reason_and_pnl():
    rows = [flat(100), flat(101), (102, 103, 101, 102.5), flat(104), (110, 111, 109, 110.5), flat(111)]
    rec, _ = run(rows, enter_on={101}, exit_on={104})
    assert len(rec.closed) == 1
    trade = rec.closed[0]
    size = 0.5 * 1000 / 101
    assert trade.size == pytest.approx(size)
    assert trade.entry_price == 102  # next bar's open
    assert trade.exit_price == pytest.approx(110)  # open of the bar after the exit signal
    fees = COMMISSION * size * (102 + 110)
    assert trade.fees == pytest.approx(fees)
    assert trade.pnl == pytest.approx((110 - 102) * size - fees)
    assert trade.pnl_pct == pytest.approx(trade.pnl / (102 * size) * 100)
    assert trade.exit_reason == "ScriptedExit:scripted"
    assert trade.bars_held == 2  # the fill bar and the signal bar
    assert trade.entry_time == T0 + timedelta(hours=2)
    assert trade.exit_time == T0 + timedelta(hours=4)
    assert [s["state"]["ScriptedExit"]["seen"] for s in rec.states] == [1, 2]


def test_stop_loss_triggers_inside_the_bar_at_the_stop_price():
    rows = [flat(100), flat(101), flat(100), (100, 100.5, 94, 95), flat(95), flat(95.5)]
    rec, _ = run(rows, enter_on={101}, protective=ProtectiveRules(stop_loss_pct=5.0))
    assert len(rec.closed) == 1
    trade = rec.closed[0]
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == pytest.approx(95.0)  # 100 * (1 - 5%)
    assert trade.exit_time == T0 + timedelta(hours=3)
    statuses = {(o.purpose, o.status) for o in rec.orders}
    assert ("take_profit", "filled") not in statuses


def test_take_profit_limit_fills_and_cancels_the_stop():
    rows = [flat(100), flat(101), flat(100), (100, 111, 99.5, 108), flat(108), flat(107)]
    rec, cerebro = run(rows, enter_on={101},
                       protective=ProtectiveRules(stop_loss_pct=5.0, take_profit_pct=10.0))
    trade = rec.closed[0]
    assert trade.exit_reason == "take_profit"
    assert trade.exit_price == pytest.approx(110.0)
    assert ("stop_loss", "canceled") in {(o.purpose, o.status) for o in rec.orders}
    assert cerebro.runstrats[0][0].getposition().size == 0


def test_trailing_stop_arms_at_activation_and_trails_the_high():
    rows = [flat(100), flat(101), flat(100), flat(104), flat(108), (108, 108, 103, 104), flat(104)]
    protective = ProtectiveRules(trailing_enabled=True, trailing_activation_pct=3.0, trailing_pct=2.0)
    rec, _ = run(rows, enter_on={101}, protective=protective)
    trade = rec.closed[0]
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(108 * 0.98)


def test_max_daily_trades_refuses_the_second_entry_of_the_day():
    rows = [flat(100), flat(101), flat(100), flat(103), flat(102), flat(105), flat(104), flat(104.5)]
    rec, _ = run(rows, enter_on={101, 105}, exit_on={103}, risk=risk_manager(max_daily_trades=1))
    assert len(rec.opened) == 1
    assert rec.refused and rec.refused[0][:2] == (105, "max_daily_trades")


def test_daily_counter_resets_at_utc_midnight():
    rows = [flat(100), flat(101), flat(100), flat(103), flat(102), flat(105), flat(104), flat(104.5)]
    # 6-hour bars: the second signal (bar 5) falls on the next UTC day
    rec, _ = run(rows, enter_on={101, 105}, exit_on={103}, risk=risk_manager(max_daily_trades=1),
                 minutes=360)
    assert len(rec.opened) == 2 and not rec.refused


def test_no_entries_during_warmup():
    rows = [flat(101), flat(100), flat(101.5), flat(102), flat(103)]
    rec, _ = run(rows, enter_on={101, 101.5}, warmup=2)
    assert len(rec.opened) == 1
    assert rec.opened[0].entry_price == 102  # the signal after warm-up (bar 3), filled at bar 4


def test_restored_position_resumes_exits_and_protective_orders_after_warmup():
    restored = OpenTrade(symbol="TEST", size=2.0, entry_price=100.0,
                         entry_ts=(T0 + timedelta(hours=1)).timestamp(), bars_held=5,
                         state={"ScriptedExit": {"seen": 5}})
    # warm-up bars would trip the stop (low 90) if the stop were live during them
    rows = [(100, 100, 90, 99), (99, 100, 98, 99.5), (99.5, 100, 94, 96), flat(96)]
    rec, _ = run(rows, enter_on=set(), protective=ProtectiveRules(stop_loss_pct=5.0), warmup=2,
                 restored_trade=restored)
    trade = rec.closed[0]
    assert trade.exit_reason == "stop_loss" and trade.exit_price == pytest.approx(95.0)
    assert trade.exit_time == T0 + timedelta(hours=2)
    assert trade.size == pytest.approx(2.0)


def test_a_new_entry_records_the_exits_in_force():
    rows = [flat(100), flat(101), flat(102), flat(103)]
    rec, _ = run(rows, enter_on={101}, more_exits=(REGISTRY.build("exit", "TimeBasedExitMixin"),))
    assert rec.states[0]["exits"] == ["ScriptedExit", "TimeBasedExitMixin"]


def test_exits_changed_while_a_position_was_open_get_their_state_and_are_logged(caplog):
    # opened under an exit since removed; ScriptedExit (added) counts bars in its state and would
    # fail without it; the trailing stop (added) is armed: the highest close 112 reached +5%
    restored = OpenTrade(symbol="TEST", size=2.0, entry_price=100.0,
                         entry_ts=(T0 + timedelta(hours=1)).timestamp(), bars_held=5,
                         highest_close=112.0, state={"OldExit": {"level": 1}}, exits=["OldExit"])
    trailing = REGISTRY.build("exit", "TrailingStopExitMixin",
                              {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    rows = [flat(110), flat(111), flat(111.5), flat(109.5), flat(109)]
    with caplog.at_level(logging.WARNING, logger="strategies.custom_strategy"):
        rec, _ = run(rows, enter_on=set(), warmup=2, restored_trade=restored,
                     more_exits=(trailing,))
    assert "exit_logic changed since the position opened at 2024-01-01T01:00:00Z" in caplog.text
    assert "added ScriptedExit (state {'seen': 0}" in caplog.text
    assert "added TrailingStopExitMixin (state {'armed': True}" in caplog.text
    assert "removed OldExit" in caplog.text
    assert rec.states[-1]["exits"] == ["ScriptedExit", "TrailingStopExitMixin"]
    assert set(rec.states[-1]["state"]) == {"ScriptedExit", "TrailingStopExitMixin"}
    # 109.5 <= 112 x 0.98 = 109.76: the added trailing stop closes it at the next open
    assert [t.exit_reason for t in rec.closed] == ["TrailingStopExitMixin:trailing"]


def test_an_unchanged_exit_logic_is_not_reported(caplog):
    restored = OpenTrade(symbol="TEST", size=2.0, entry_price=100.0,
                         entry_ts=(T0 + timedelta(hours=1)).timestamp(),
                         state={"ScriptedExit": {"seen": 3}}, exits=["ScriptedExit"])
    with caplog.at_level(logging.WARNING, logger="strategies.custom_strategy"):
        rec, _ = run([flat(100), flat(101), flat(102)], enter_on=set(), warmup=1,
                     restored_trade=restored)
    assert "exit_logic changed" not in caplog.text
    assert rec.states[-1]["state"]["ScriptedExit"]["seen"] == 5  # kept, counted on


def test_pending_entry_from_before_a_restart_fills_at_the_first_live_bar():
    rows = [flat(100), flat(101), (102, 102, 102, 102), flat(103)]
    pending = (PendingOrder(purpose="entry", size=3.0, client_order_id="tb-1-entry"),)
    rec, _ = run(rows, enter_on=set(), warmup=2, restored_orders=pending)
    assert len(rec.opened) == 1
    assert rec.opened[0].entry_price == 102 and rec.opened[0].size == pytest.approx(3.0)
    assert rec.orders[0].client_order_id == "tb-1-entry"


def test_kill_switch_on_drawdown_refuses_entries():
    rows = [flat(100), flat(101), flat(100), (100, 100, 60, 60), flat(60), flat(61), flat(62),
            flat(62.5)]
    risk = risk_manager(max_drawdown_pct=10.0, position_size=1.0)
    rec, _ = run(rows, enter_on={101, 61}, exit_on={60}, risk=risk, position_size=0.9)
    assert len(rec.opened) == 1
    assert risk.state.kill_switch
    assert rec.refused and rec.refused[0][1] == "max_drawdown_pct"


def test_an_exit_on_the_fill_bar_leaves_no_protective_order_behind():
    # the exit fires on the very bar the entry filled, while its stop and take-profit are only
    # just sent; a later crash through the stop level must not sell a position we no longer have
    rows = [flat(100), flat(101), flat(100), flat(100.5), (80, 80, 70, 75), flat(75), flat(120)]
    rec, cerebro = run(rows, enter_on={101}, exit_on={100},
                       protective=ProtectiveRules(stop_loss_pct=5.0, take_profit_pct=10.0))
    assert [t.exit_reason for t in rec.closed] == ["ScriptedExit:scripted"]
    assert cerebro.runstrats[0][0].getposition().size == 0
    assert {(o.purpose, o.status) for o in rec.orders if o.purpose in ("stop_loss", "take_profit")
            and o.status not in ("submitted", "accepted")} == {("stop_loss", "canceled"),
                                                               ("take_profit", "canceled")}
    assert not [o for o in cerebro.broker.orders if o.alive()]


def test_a_long_run_keeps_backtraders_order_history_bounded():
    # 3,000 bars, a round trip every 4 bars with protective orders: ~3,000 orders pass through
    rows = []
    for i in range(3000):
        price = 100.0 + (i % 4) + i * 1e-4  # unique closes: 100.x enters, 102.x exits
        rows.append(flat(price))
    enter_on = {r[3] for i, r in enumerate(rows) if i % 4 == 0}
    exit_on = {r[3] for i, r in enumerate(rows) if i % 4 == 2}
    rec, cerebro = run(rows, enter_on=enter_on, exit_on=exit_on,
                       protective=ProtectiveRules(stop_loss_pct=50.0, take_profit_pct=50.0))
    strategy = cerebro.runstrats[0][0]
    assert len(rec.closed) >= 700  # the trading itself is unaffected
    assert len(cerebro.broker.orders) < 100
    assert len(cerebro.broker._pchildren) < 100
    assert len(strategy._orders) < 1100


def test_client_order_ids_fit_binance_even_for_the_longest_bot_id():
    import re

    from trading.config.schema import MAX_BOT_ID
    from trading.runtime.assembly import order_prefix

    longest = "b" * MAX_BOT_ID
    ids = [f"{order_prefix(longest)}-{ts}-{purpose}" for ts in (1_700_000_000, 9_999_999_999)
           for purpose in ("entry", "exit", "sl", "tp", "ts", "sl-oco")]  # the OCO list's id too
    # Binance: newClientOrderId / listClientOrderId match ^[.A-Z:/a-z0-9_-]{1,36}$
    assert all(re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", cid) for cid in ids), ids
    assert order_prefix(longest) != order_prefix("b" * (MAX_BOT_ID - 1))  # still one per bot
    assert order_prefix("0001") == "0001"  # short ids are unchanged (orders of old runs match)

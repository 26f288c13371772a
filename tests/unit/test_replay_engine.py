"""The replay's lean Backtrader steps give exactly what Backtrader's own steps give.

BotCerebro's runonce loop, CustomStrategy's trimmed per-bar step and MockBroker's shortcuts for
quiet bars (flat or holding, nothing to fill) skip work the bot never needs; here each is swapped back for Backtrader's own and the trades, the
equity at every bar and the figures must not move by a bit.
"""
from __future__ import annotations

import backtrader as bt
import numpy as np
import pytest

from brokers.mock import MockBroker
from replay_helpers import demo_replay
from strategies.custom_strategy import CustomStrategy
from trading.runtime.cerebro import BotCerebro


def _stock_backtrader(monkeypatch) -> None:
    monkeypatch.setattr(BotCerebro, "_runonce", bt.Cerebro._runonce)
    monkeypatch.setattr(CustomStrategy, "_oncepost", bt.Strategy._oncepost)
    monkeypatch.setattr(CustomStrategy, "_notify", bt.Strategy._notify)
    monkeypatch.setattr(MockBroker, "_quiet", lambda self: False)  # BackBroker.next every bar


@pytest.mark.parametrize("overrides", [
    (),  # 0001: stop loss and take profit orders on the broker while in a position
    ("risk_management.stop_loss_pct=0", "risk_management.take_profit_pct=0",
     "risk_management.trailing_stop.enabled=true", "risk_management.trailing_stop.trailing_pct=1"),
    ("trading.max_drawdown_pct=1",),  # the kill switch trips mid-run
    ("risk_management.stop_loss_pct=0", "risk_management.take_profit_pct=0"),  # quiet bars held
], ids=["protective-orders", "trailing-stop", "kill-switch", "no-protective-orders"])
def test_lean_steps_replay_bit_for_bit_like_backtraders_own(monkeypatch, overrides):
    _, _, lean = demo_replay(*overrides)
    with monkeypatch.context() as patch:
        _stock_backtrader(patch)
        _, _, stock = demo_replay(*overrides)
    assert len(lean.trades) > 0
    assert lean.trades == stock.trades
    assert np.array_equal(lean.equity.values, stock.equity.values)
    assert np.array_equal(lean.equity.ts, stock.equity.ts)
    assert lean.metrics == stock.metrics
    assert lean.refusals == stock.refusals and lean.kill_switch == stock.kill_switch

"""The live engine between bars: the loop wakes when a venue reports, a simulated broker still
fills only on bars (so a live paper bot trades exactly as its replay), and what a report changes
is saved at once, without moving the last checkpointed bar."""
from __future__ import annotations

import pytest

from bot_workspace import SAMPLE, BotWorkspace, ScriptedSource
from feeds.csv_bars import load_bars
from trading.backtest.replay import run_replay
from trading.config.loading import load_config
from trading.core.types import Bar
from trading.runtime.bot import LiveTradingBot

BARS = 900
HISTORY = 100
BUSY = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 45}},
        "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 55}}}
TIGHT = {"stop_loss_pct": 0.3, "take_profit_pct": 0.5, "max_daily_trades": 0,
         "max_daily_loss": 0}


def sample(count: int) -> list[Bar]:
    bars = load_bars(SAMPLE)
    return [bars.bar(i) for i in range(count)]


def test_a_paper_bot_woken_between_bars_trades_exactly_as_its_replay(tmp_path, monkeypatch):
    ws = BotWorkspace(tmp_path)
    monkeypatch.chdir(tmp_path)  # status file and journal under the workspace
    ws.write_config(strategy=BUSY, risk_management=TIGHT,
                    trading={"max_drawdown_pct": 0},
                    data={"lookback_bars": HISTORY})
    config = load_config(ws.config_path)
    bars = sample(BARS)
    source = ScriptedSource(bars, HISTORY, wakes_per_bar=2)
    LiveTradingBot(config, source=source).run()
    assert source.wakes == 2 * (BARS - HISTORY)

    replayed = run_replay(config, load_bars(SAMPLE).slice(0, BARS)).trades
    ran = ws.query("SELECT exit_reason, entry_price, exit_price, pnl FROM trades "
                   "ORDER BY exit_time, id")
    assert len(ran) >= 50
    # stop-losses placed on a fill must not fill against the bar they were placed on
    assert sum(1 for r in ran if r[0] == "stop_loss") >= 5
    assert [r[0] for r in ran] == [t.exit_reason for t in replayed]
    assert [v for r in ran for v in r[1:]] == pytest.approx(
        [v for t in replayed for v in (t.entry_price, t.exit_price, t.pnl)], rel=1e-9)

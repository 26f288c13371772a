"""A running bot's config changed between two runs while a position is open (issue 7, "Live
changes"): the restored trade gets every current exit's per-trade state, and the log says which
exits changed since the position opened."""
from __future__ import annotations

import json

from workspace import SAMPLE, BotWorkspace
from trading.backtest.replay import load_replay_bars, run_replay
from trading.config.loading import load_config
from trading.core.timeutil import iso_z

ATR_STOP = {"name": "ATRExitMixin", "params": {"x_atr_period": 14, "x_sl_multiplier": 0.01}}


def test_an_exit_added_while_a_position_is_open_takes_over_the_restored_trade(tmp_path):
    ws = BotWorkspace(tmp_path)
    ws.write_config()
    config = load_config(ws.config_path)
    bars = load_replay_bars(config)
    trades = run_replay(config, bars).trades
    # a position held for a while: the data ends three bars after its entry, the bot with it
    trade = next(t for t in trades if (t.exit_time - t.entry_time).total_seconds() > 3600)
    entry = trade.entry_time.timestamp()
    lines = SAMPLE.read_text().splitlines()
    first_part = tmp_path / "first.csv"
    cut = 1 + int((bars.ts <= entry).sum()) + 3
    first_part.write_text("\n".join(lines[:cut]) + "\n")
    ws.write_config(data={"file_path": str(first_part)})
    first = ws.run()
    assert first.returncode == 0, first.stderr
    (saved,) = ws.query("SELECT trade FROM positions")[0]
    assert json.loads(saved)["entry_ts"] == entry and json.loads(saved)["exits"] == ["RSIBBExitMixin"]

    # the user adds a tight ATR stop; the data goes on
    ws.write_config(data={"file_path": str(SAMPLE)},
                    strategy={"exit_logic": [{"name": "RSIBBExitMixin"}, ATR_STOP]})
    second = ws.run()
    assert second.returncode == 0, second.stderr
    assert f"exit_logic changed since the position opened at {iso_z(entry)}: added ATRExitMixin " \
           "(state {'atr': " in second.stderr
    restored = next(t for t in ws.trades() if t[0] == entry)
    assert restored[7] == "ATRExitMixin:stop"  # the added exit fired on the trade it was not born with

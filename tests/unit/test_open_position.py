"""A position still open when the bars end is in the trade table, marked to market and labelled."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from replay_helpers import demo_replay
from trading.backtest.replay import run_replay
from trading.backtest.report import write_report
from trading.backtest.report_inputs import ReplayReport
from trading.core.timeutil import epoch_seconds


def _replay_ending_inside_a_trade():
    checked, data, whole = demo_replay()
    held = whole.trades[2]
    cut = int(np.searchsorted(data.bars.ts, epoch_seconds(held.exit_time))) - 1  # before its exit
    bars = data.bars.slice(0, cut)
    result = run_replay(checked.config, bars)
    return checked, data, result, held, bars


def test_an_open_position_is_the_last_trade_row_and_the_rows_add_up_to_the_total_return(tmp_path):
    checked, data, result, held, bars = _replay_ending_inside_a_trade()
    assert len(result.trades) == 2 and result.open_trade is not None
    still = result.open_trade
    assert still.exit_reason == "open"
    assert (still.entry_time, still.entry_price) == (held.entry_time, held.entry_price)
    assert still.exit_price == bars.close[-1]  # marked at the last close
    assert epoch_seconds(still.exit_time) == bars.ts[-1]
    summary = result.metrics
    assert summary["trades"] == 2 and summary["open_trades"] == 1
    assert summary["open_pnl"] == pytest.approx(still.pnl)
    profit = summary["final_equity"] - checked.config.broker.initial_balance
    assert sum(t.pnl for t in result.trade_rows) == pytest.approx(profit, abs=1e-6)

    report = ReplayReport.of(checked, result, data.provenance.part(bars))
    paths = write_report(tmp_path, report, pictures=False)
    with paths["trades.csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and rows[-1]["exit_reason"] == "open"
    assert float(rows[-1]["pnl"]) == pytest.approx(still.pnl)
    page = paths["report.html"].read_text()
    assert '"open":true' in page and "marked to market" in page


def test_the_open_position_counts_as_exposure_to_the_last_bar():
    _, _, result, _, _ = _replay_ending_inside_a_trade()
    ts = np.asarray(result.equity.ts)
    held = np.zeros(len(ts), dtype=bool)
    for trade in result.trades:
        held |= (ts >= epoch_seconds(trade.entry_time)) & (ts < epoch_seconds(trade.exit_time))
    held |= ts >= epoch_seconds(result.open_trade.entry_time)
    assert result.metrics["exposure_pct"] == pytest.approx(held.mean() * 100, abs=1e-4)


def test_a_replay_that_ends_flat_has_no_open_row():
    _, _, result = demo_replay()
    assert result.open_trade is None and result.trade_rows == result.trades
    assert result.metrics["open_trades"] == 0 and result.metrics["open_pnl"] == 0.0

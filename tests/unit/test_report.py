"""Replay metrics and report files, checked against figures worked out by hand."""
from __future__ import annotations

import csv
import json
import math
import statistics
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from trading.core.events import TradeClosed
from trading.backtest.report import EquitySeries, compute_metrics, format_summary, write_report

T0 = datetime(2021, 1, 1, tzinfo=timezone.utc)
HOUR = 3600.0
EQUITY = [1000.0, 1010.0, 1005.0, 990.0, 1020.0, 1030.0, 1015.0, 1040.0]


def _time(bar: int) -> datetime:
    return T0 + timedelta(hours=bar)


def _trade(entry_bar: int, exit_bar: int, pnl: float, fees: float) -> TradeClosed:
    return TradeClosed(entry_time=_time(entry_bar), exit_time=_time(exit_bar), symbol="ETHBTC",
                       side="long", size=2.5, entry_price=100.0, exit_price=100.0 + pnl / 2.5,
                       pnl=pnl, pnl_pct=pnl / 250.0 * 100, fees=fees, exit_reason="RSIBBExitMixin:rsi",
                       bars_held=exit_bar - entry_bar)


TRADES = [_trade(1, 3, 12.0, 1.0), _trade(3, 4, -5.0, 0.5), _trade(5, 7, 20.0, 1.5)]


@pytest.fixture
def equity() -> EquitySeries:
    ts = T0.timestamp() + HOUR * np.arange(len(EQUITY))
    return EquitySeries(ts, np.array(EQUITY))


def test_metrics_match_hand_computed_figures(equity):
    m = compute_metrics(TRADES, equity, initial_balance=1000.0)

    assert m["trades"] == 3
    assert m["win_rate_pct"] == pytest.approx(200 / 3, abs=1e-4)  # 2 of 3 won
    assert m["total_return_pct"] == pytest.approx(4.0)  # 1000 -> 1040
    assert m["max_drawdown_pct"] == pytest.approx(20 / 1010 * 100, abs=1e-4)  # 1010 -> 990
    assert m["profit_factor"] == pytest.approx(32 / 5)  # (12 + 20) / 5
    assert m["fees"] == pytest.approx(3.0)
    assert m["exposure_pct"] == pytest.approx(62.5)  # bars 1, 2, 3, 5, 6 of 8 end in a position
    assert m["final_equity"] == 1040.0
    assert (m["start"], m["end"]) == ("2021-01-01T00:00:00Z", "2021-01-01T07:00:00Z")


def test_sharpe_and_sortino_are_annualised_per_bar_ratios(equity):
    curve = [1000.0] + EQUITY
    returns = [b / a - 1 for a, b in zip(curve, curve[1:])]
    per_year = 365 * 24  # hourly bars
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))

    m = compute_metrics(TRADES, equity, initial_balance=1000.0)

    mean = statistics.mean(returns)
    assert m["sharpe"] == pytest.approx(mean / statistics.stdev(returns) * math.sqrt(per_year), abs=1e-4)
    assert m["sortino"] == pytest.approx(mean / downside * math.sqrt(per_year), abs=1e-4)
    assert m["sharpe"] > 0


def test_undefined_ratios_without_trades_or_losses():
    flat = EquitySeries(T0.timestamp() + HOUR * np.arange(5), np.full(5, 500.0))
    m = compute_metrics([], flat, initial_balance=500.0)
    assert (m["trades"], m["win_rate_pct"], m["profit_factor"]) == (0, 0.0, None)
    assert (m["sharpe"], m["sortino"], m["max_drawdown_pct"], m["exposure_pct"]) == (0.0, 0.0, 0.0, 0.0)

    only_wins = compute_metrics(TRADES[:1], flat, initial_balance=500.0)
    assert only_wins["profit_factor"] is None and only_wins["win_rate_pct"] == 100.0


def test_report_files(tmp_path, equity):
    metrics = compute_metrics(TRADES, equity, initial_balance=1000.0)
    paths = write_report(tmp_path / "out", TRADES, equity, metrics, initial_balance=1000.0)

    with paths["trades.csv"].open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["entry_time", "exit_time", "symbol", "side", "size", "entry_price",
                       "exit_price", "pnl", "pnl_pct", "fees", "exit_reason", "bars_held",
                       "entry_mixin"]
    assert rows[2][:4] == ["2021-01-01T03:00:00Z", "2021-01-01T04:00:00Z", "ETHBTC", "long"]
    assert (float(rows[2][7]), float(rows[2][9]), rows[2][10], rows[2][11]) == \
        (-5.0, 0.5, "RSIBBExitMixin:rsi", "1")
    assert len(rows) == 4

    saved = json.loads(paths["metrics.json"].read_text())
    assert list(saved) == ["trades", "win_rate_pct", "total_return_pct", "max_drawdown_pct", "sharpe",
                           "sortino", "profit_factor", "exposure_pct", "fees", "final_equity",
                           "start", "end"]
    assert saved == metrics

    with paths["equity.csv"].open() as fh:
        curve = list(csv.reader(fh))
    assert curve[0] == ["time", "equity", "drawdown_pct"]
    assert curve[4] == ["2021-01-01T03:00:00Z", "990.0", f"{20 / 1010 * 100:.6f}"]
    assert len(curve) == len(EQUITY) + 1

    assert paths["equity.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_long_equity_curves_still_plot(tmp_path):
    n = 200_000
    values = 1000.0 + np.cumsum(np.random.default_rng(3).normal(0, 1, n))
    series = EquitySeries(T0.timestamp() + 60.0 * np.arange(n), values)
    paths = write_report(tmp_path, [], series, compute_metrics([], series, 1000.0), 1000.0)
    assert paths["equity.png"].stat().st_size > 10_000
    assert sum(1 for _ in paths["equity.csv"].open()) == n + 1


def test_summary_shows_the_figures(equity):
    text = format_summary(compute_metrics(TRADES, equity, initial_balance=1000.0), title="Replay 0001")
    assert "Replay 0001" in text
    for expected in ("Trades         3", "Win rate       66.67 %", "Total return   4.00 %",
                     "Max drawdown   1.98 %", "Profit factor  6.40", "Exposure       62.50 %",
                     "Final equity   1040"):
        assert expected in text
    no_loss = compute_metrics([], EquitySeries(np.array([0.0, 60.0]), np.array([1.0, 1.0])), 1.0)
    assert "n/a (no losing trade)" in format_summary(no_loss)

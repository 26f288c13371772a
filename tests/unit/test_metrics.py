"""Replay metrics and the report tables, checked against figures worked out by hand."""
from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from trading.core.events import TradeClosed
from trading.backtest.currency import symbol_quote
from trading.backtest.metrics import (EquitySeries, PriceSpan, by_exit_reason, by_month,
                                     compute_metrics)
from trading.backtest.periods import YEAR_SECONDS, by_period, cagr_pct, period_keys
from trading.backtest.trade_stats import trade_stats

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
REASONS = ["RSIBBExitMixin:rsi", "stop_loss", "RSIBBExitMixin:rsi"]


@pytest.fixture
def equity() -> EquitySeries:
    ts = T0.timestamp() + HOUR * np.arange(len(EQUITY))
    return EquitySeries(ts, np.array(EQUITY))


def test_metrics_match_hand_computed_figures(equity):
    m = compute_metrics(TRADES, equity, initial_balance=1000.0, prices=PriceSpan(50.0, 56.0))

    assert m["trades"] == 3
    assert m["win_rate_pct"] == pytest.approx(200 / 3, abs=1e-4)  # 2 of 3 won
    assert m["total_return_pct"] == pytest.approx(4.0)  # 1000 -> 1040
    assert m["max_drawdown_pct"] == pytest.approx(20 / 1010 * 100, abs=1e-4)  # 1010 -> 990
    assert m["profit_factor"] == pytest.approx(32 / 5)  # (12 + 20) / 5
    assert m["fees"] == pytest.approx(3.0)
    assert m["exposure_pct"] == pytest.approx(62.5)  # bars 1, 2, 3, 5, 6 of 8 end in a position
    assert m["final_equity"] == 1040.0
    assert (m["start"], m["end"]) == ("2021-01-01T00:00:00Z", "2021-01-01T07:00:00Z")
    assert m["market_change_pct"] == pytest.approx(12.0)  # buy and hold: 50 -> 56
    assert (m["avg_trade_hours"], m["median_trade_hours"]) == (pytest.approx(5 / 3, abs=1e-4), 2.0)
    assert (m["best_trade_pct"], m["worst_trade_pct"]) == (8.0, -2.0)  # 20 and -5 on a 250 cost


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
    assert (m["avg_trade_hours"], m["best_trade_pct"], m["market_change_pct"]) == (None, None, None)

    only_wins = compute_metrics(TRADES[:1], flat, initial_balance=500.0)
    assert only_wins["profit_factor"] is None and only_wins["win_rate_pct"] == 100.0


def test_table_by_exit_reason_counts_wins_and_sums_pnl():
    trades = [replace(t, exit_reason=r) for t, r in zip(TRADES, REASONS)]
    rows = by_exit_reason(trades)
    assert rows == [
        {"exit_reason": "RSIBBExitMixin:rsi", "trades": 2, "win_rate_pct": 100.0,
         "avg_pnl_pct": pytest.approx((4.8 + 8.0) / 2), "total_pnl": 32.0},
        {"exit_reason": "stop_loss", "trades": 1, "win_rate_pct": 0.0, "avg_pnl_pct": -2.0,
         "total_pnl": -5.0},
    ]


def test_table_by_month_splits_trades_equity_and_market_by_utc_month():
    # four daily bars across a month end: Jan 30, Jan 31, Feb 1, Feb 2
    day = 86400.0
    start = datetime(2021, 1, 30, tzinfo=timezone.utc)
    ts = start.timestamp() + day * np.arange(4)
    equity = EquitySeries(ts, np.array([1010.0, 1020.0, 990.0, 1050.0]))
    closes = np.array([10.0, 11.0, 12.0, 9.9])
    jan = replace(TRADES[0], exit_time=start + timedelta(days=1))
    feb = [replace(TRADES[1], exit_time=start + timedelta(days=2)),
           replace(TRADES[2], exit_time=start + timedelta(days=3))]

    rows = by_month([jan, *feb], equity, 1000.0, closes, first_open=8.0)

    assert [r["month"] for r in rows] == ["2021-01", "2021-02"]
    assert (rows[0]["trades"], rows[0]["pnl"], rows[0]["win_rate_pct"]) == (1, 12.0, 100.0)
    assert (rows[1]["trades"], rows[1]["pnl"], rows[1]["win_rate_pct"]) == (2, 15.0, 50.0)
    assert rows[0]["return_pct"] == pytest.approx(2.0)  # 1000 -> 1020
    assert rows[1]["return_pct"] == pytest.approx((1050 / 1020 - 1) * 100, abs=1e-4)
    assert rows[0]["market_change_pct"] == pytest.approx(37.5)  # first open 8 -> 11
    assert rows[1]["market_change_pct"] == pytest.approx(-10.0)  # 11 -> 9.9


def test_freqtrade_style_figures_match_hand_computed_ones(equity):
    m = compute_metrics(TRADES, equity, initial_balance=1000.0, quote_currency="BTC")
    assert (m["quote_currency"], m["starting_balance"], m["absolute_profit"]) == ("BTC", 1000.0, 40.0)
    assert (m["wins"], m["draws"], m["losses"]) == (2, 0, 1)
    assert m["expectancy"] == pytest.approx(9.0)  # (12 - 5 + 20) / 3
    assert m["expectancy_ratio"] == pytest.approx((1 + 16 / 5) * 2 / 3 - 1, abs=1e-4)
    assert (m["max_consecutive_wins"], m["max_consecutive_losses"]) == (1, 1)  # won, lost, won
    assert (m["avg_winner_hours"], m["avg_loser_hours"]) == (2.0, 1.0)
    # the worst fall: from 1010 (bar 1, 01:00) to 990 (bar 3, 03:00), back above at 1020 (04:00)
    assert (m["max_drawdown_start"], m["max_drawdown_end"], m["max_drawdown_recovered"]) == (
        "2021-01-01T01:00:00Z", "2021-01-01T03:00:00Z", "2021-01-01T04:00:00Z")
    assert m["max_drawdown_hours"] == 2.0
    assert (m["best_day"], m["best_day_pnl"]) == ("2021-01-01", 40.0)  # one day: best and worst
    assert m["calmar"] == pytest.approx(m["cagr_pct"] / m["max_drawdown_pct"], rel=1e-3)


def test_cagr_compounds_the_return_over_a_year_and_gives_up_when_it_cannot_be_written():
    assert cagr_pct(1000.0, 1210.0, 2 * YEAR_SECONDS) == pytest.approx(10.0)
    assert cagr_pct(1000.0, 1100.0, YEAR_SECONDS / 2) == pytest.approx(21.0)
    assert cagr_pct(1000.0, 0.0, YEAR_SECONDS) == -100.0
    assert cagr_pct(1000.0, 3000.0, 60.0) is None  # tripled in a minute: no float holds a year of it
    assert cagr_pct(1000.0, 1100.0, 0.0) is None


def test_streaks_draws_and_a_replay_without_a_drawdown():
    trades = [replace(TRADES[0], pnl=p) for p in (1.0, 2.0, 0.0, 3.0, -1.0, -2.0, -3.0, 4.0)]
    stats = trade_stats(trades)
    assert (stats["wins"], stats["draws"], stats["losses"]) == (4, 1, 3)
    assert (stats["max_consecutive_wins"], stats["max_consecutive_losses"]) == (2, 3)  # a draw ends a run
    assert trade_stats(trades[:2])["expectancy_ratio"] is None  # no losing trade
    rising = EquitySeries(T0.timestamp() + HOUR * np.arange(3), np.array([1001.0, 1002.0, 1003.0]))
    m = compute_metrics([], rising, initial_balance=1000.0)
    assert m["max_drawdown_start"] is None and m["calmar"] is None and m["expectancy"] is None


def test_weeks_start_on_monday_and_periods_add_up_to_the_whole():
    sunday, monday = datetime(2021, 1, 3, 12, tzinfo=timezone.utc), datetime(2021, 1, 4, tzinfo=timezone.utc)
    keys = period_keys(np.array([sunday.timestamp(), monday.timestamp()]), "week")
    assert [str(k) for k in keys] == ["2020-12-28", "2021-01-04"]
    ts = sunday.timestamp() + 6 * HOUR * np.arange(8)  # Sunday noon to Tuesday 06:00
    values = np.array([1000.0, 1010.0, 1005.0, 990.0, 1020.0, 1030.0, 1015.0, 1040.0])
    closes = np.linspace(10.0, 12.0, 8)
    days = by_period(TRADES, ts, values, 1000.0, closes, 10.0, "day")
    assert [r["day"] for r in days] == ["2021-01-03", "2021-01-04", "2021-01-05"]
    assert sum(r["change"] for r in days) == pytest.approx(40.0)
    growth = np.prod([1 + r["return_pct"] / 100 for r in days])
    assert growth == pytest.approx(1.04, abs=1e-5)


@pytest.mark.parametrize("symbol, quote", [("ETHBTC", "BTC"), ("BTCUSDT", "USDT"), ("BTC-USD", "USD"),
                                           ("ETH/BTC", "BTC"), ("BTCFDUSD", "FDUSD"), ("AAPL", "")])
def test_the_quote_currency_a_symbol_names(symbol, quote):
    assert symbol_quote(symbol) == quote

"""The figures of a replay: the summary, and the tables by exit reason and by month.

Definitions (``summary``):

* returns are per bar, from the equity at each bar's close, the initial balance first;
  ``sharpe`` = mean / sample std, ``sortino`` = mean / downside deviation (root mean square of the
  negative returns over all bars), both annualised by sqrt(bars per 365-day year: markets here
  trade around the clock), risk-free rate 0; 0.0 when undefined (flat equity, < 2 returns);
* ``market_change_pct`` is buy and hold of the symbol over the traded bars: from the first bar's
  open to the last bar's close;
* ``max_drawdown_pct`` is the largest fall from a running peak (the initial balance counts as the
  first peak), as a positive percentage of that peak;
* ``win_rate_pct`` and ``profit_factor`` use each trade's ``pnl`` as the strategy reports it (net
  of fees); ``profit_factor`` = gross profit / gross loss, None (JSON null) when there is no losing
  trade, since the ratio is then infinite or undefined;
* ``exposure_pct`` is the share of bars that end with a position open: a closed trade covers the
  bars from its entry bar up to, not including, its exit bar (fills happen at a bar's open);
* ``avg_trade_hours`` / ``median_trade_hours``: entry fill to exit fill; ``best_trade_pct`` /
  ``worst_trade_pct``: the trades' ``pnl_pct`` (None without trades);
* ``trades`` and the figures of trades are closed round trips; a position still open when the bars
  end is ``open_trades`` (0 or 1) with ``open_pnl``, its pnl marked to market at the last close
  (the entry fee paid, no exit fee): the total return and the final equity include it;
* ``start``/``end`` are the open times of the first and last traded bar, ISO 8601 UTC;
* money (MONEY_KEYS) is in ``quote_currency`` ("" when the symbol does not say it);
  ``absolute_profit`` = final equity - ``starting_balance`` (the initial balance);
* ``cagr_pct`` compounds the total return over a 365-day year: (final / start) ^ (year / span) - 1,
  the span running from the first traded bar's open to the last one's close (None when it would
  not fit in a float: a short replay extrapolates wildly); ``calmar`` = ``cagr_pct`` /
  ``max_drawdown_pct`` (None without a drawdown);
* the trades' own figures (wins/draws/losses, expectancy, streaks, how long winners and losers
  are held) are defined in ``trading.backtest.trade_stats``; the worst drawdown's start, end and
  length and the best and worst day in ``trading.backtest.periods``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from trading.backtest.periods import (YEAR_SECONDS, best_and_worst_day, by_period, cagr_pct,
                                      drawdown_span)
from trading.backtest.trade_stats import TRADE_KEYS, trade_stats, win_rate_pct
from trading.core.equity import drawdown_pct
from trading.core.events import TradeClosed
from trading.core.timeutil import epoch_seconds, iso_z

SUMMARY_KEYS = ("trades", "win_rate_pct", "total_return_pct", "market_change_pct", "max_drawdown_pct",
                "sharpe", "sortino", "profit_factor", "exposure_pct", "avg_trade_hours",
                "median_trade_hours", "best_trade_pct", "worst_trade_pct", "fees", "final_equity",
                "open_trades", "open_pnl",
                # what freqtrade's backtest report has beside these
                "quote_currency", "starting_balance", "absolute_profit", "cagr_pct", "calmar",
                *TRADE_KEYS, "max_drawdown_start", "max_drawdown_end", "max_drawdown_hours",
                "max_drawdown_recovered", "best_day", "best_day_pnl", "worst_day", "worst_day_pnl",
                "start", "end")
# the summary's amounts of money, in its quote_currency
MONEY_KEYS = ("fees", "final_equity", "open_pnl", "starting_balance", "absolute_profit",
              "expectancy", "best_day_pnl", "worst_day_pnl")
_ROUNDED = ("win_rate_pct", "total_return_pct", "market_change_pct", "max_drawdown_pct", "sharpe",
            "sortino", "profit_factor", "exposure_pct", "avg_trade_hours", "median_trade_hours",
            "best_trade_pct", "worst_trade_pct", "cagr_pct", "calmar", "expectancy_ratio",
            "avg_winner_hours", "avg_loser_hours")


@dataclass(frozen=True)
class EquitySeries:
    """Account value at each bar's close; ``ts`` is the bar's open time, epoch seconds UTC."""

    ts: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class PriceSpan:
    """The traded bars' first open and last close, for the market's own change."""

    first_open: float
    last_close: float

    @property
    def change_pct(self) -> float:
        """Buy and hold over the span, in percent."""
        return (self.last_close / self.first_open - 1.0) * 100.0 if self.first_open else 0.0


def drawdown_series(values: np.ndarray, initial_balance: float) -> np.ndarray:
    """Fall from the running peak (the initial balance included) at each bar, in percent."""
    peak = np.maximum.accumulate(np.concatenate(([initial_balance], values)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, drawdown_pct(peak, values), 0.0)


def _ratio(mean: float, spread: float, per_year: float) -> float:
    if not spread or not math.isfinite(spread):
        return 0.0
    return mean / spread * math.sqrt(per_year)


def _held(trades: Sequence[TradeClosed]) -> tuple[np.ndarray, np.ndarray]:
    entries = np.array([epoch_seconds(t.entry_time) for t in trades], dtype=np.float64)
    exits = np.array([epoch_seconds(t.exit_time) for t in trades], dtype=np.float64)
    return entries, exits


def exposure_pct(trades: Sequence[TradeClosed], ts: np.ndarray,
                 still_open: Sequence[TradeClosed] = ()) -> float:
    """The share of the bars (steps) ``ts`` that end with a position of ``trades`` open, in
    percent (see ``exposure_pct`` in the module docstring); ``still_open`` are held to the end."""
    if not len(ts) or not (trades or still_open):
        return 0.0
    entries, exits = _held(trades)
    for trade in still_open:  # held through the last bar
        entries = np.append(entries, epoch_seconds(trade.entry_time))
        exits = np.append(exits, np.inf)
    held = np.zeros(len(ts) + 1, dtype=np.int64)
    np.add.at(held, np.searchsorted(ts, entries, side="left"), 1)
    np.add.at(held, np.searchsorted(ts, exits, side="left"), -1)
    open_bars = int(np.count_nonzero(np.cumsum(held[:-1]) > 0))
    return open_bars / len(ts) * 100.0


def compute_metrics(trades: Sequence[TradeClosed], equity: EquitySeries, initial_balance: float,
                    interval_seconds: float | None = None,
                    prices: PriceSpan | None = None, open_trade: TradeClosed | None = None,
                    quote_currency: str = "",
                    open_trades: Sequence[TradeClosed] = ()) -> dict[str, Any]:
    """The replay's summary figures, keyed by SUMMARY_KEYS (definitions in the module docstring).

    ``interval_seconds`` (the bar spacing, for annualising) defaults to the median spacing;
    ``market_change_pct`` is None when ``prices`` is not given. ``open_trade`` is the position
    still open at the end (``open_trades``: a basket's, one per symbol), marked to market:
    counted in ``open_trades``/``open_pnl`` and the exposure, not in the closed trades' figures.
    """
    still_open = [*([open_trade] if open_trade is not None else []), *open_trades]
    values = np.asarray(equity.values, dtype=np.float64)
    ts = np.asarray(equity.ts, dtype=np.float64)
    final = float(values[-1]) if len(values) else float(initial_balance)
    if interval_seconds is None:
        interval_seconds = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
    per_year = YEAR_SECONDS / interval_seconds if interval_seconds > 0 else 0.0

    sharpe = sortino = 0.0
    if len(values) >= 2 and per_year:
        curve = np.concatenate(([initial_balance], values))
        returns = np.diff(curve) / curve[:-1]
        mean = float(returns.mean())
        sharpe = _ratio(mean, float(returns.std(ddof=1)), per_year)
        sortino = _ratio(mean, math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2))), per_year)

    pnls = np.array([t.pnl for t in trades], dtype=np.float64)
    pnl_pcts = np.array([t.pnl_pct for t in trades], dtype=np.float64)
    entries, exits = _held(trades)
    hours = (exits - entries) / 3600.0
    gross_profit = float(pnls[pnls > 0].sum())
    gross_loss = float(-pnls[pnls < 0].sum())
    metrics: dict[str, Any] = {
        "trades": len(trades),
        "win_rate_pct": win_rate_pct(pnls),
        "total_return_pct": (final / initial_balance - 1.0) * 100.0 if initial_balance else 0.0,
        "market_change_pct": prices.change_pct if prices is not None else None,
        "max_drawdown_pct": float(drawdown_series(values, initial_balance).max()) if len(values) else 0.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "exposure_pct": exposure_pct(trades, ts, still_open),
        "avg_trade_hours": float(hours.mean()) if len(hours) else None,
        "median_trade_hours": float(np.median(hours)) if len(hours) else None,
        "best_trade_pct": float(pnl_pcts.max()) if len(pnl_pcts) else None,
        "worst_trade_pct": float(pnl_pcts.min()) if len(pnl_pcts) else None,
        "fees": float(sum(t.fees for t in trades)),
        "final_equity": final,
        "open_trades": len(still_open),
        "open_pnl": float(sum(t.pnl for t in still_open)),
        "quote_currency": quote_currency,
        "starting_balance": float(initial_balance),
        "absolute_profit": final - initial_balance,
    }
    span_seconds = float(ts[-1] - ts[0]) + interval_seconds if len(ts) else 0.0
    metrics["cagr_pct"] = cagr_pct(initial_balance, final, span_seconds)
    drawdown = metrics["max_drawdown_pct"]
    metrics["calmar"] = (metrics["cagr_pct"] / drawdown
                         if metrics["cagr_pct"] is not None and drawdown > 0 else None)
    metrics.update(trade_stats(trades))
    metrics.update(drawdown_span(ts, values, initial_balance))
    metrics.update(best_and_worst_day(ts, values, initial_balance))
    metrics["start"] = iso_z(float(ts[0])) if len(ts) else None
    metrics["end"] = iso_z(float(ts[-1])) if len(ts) else None
    # round for people reading metrics.json; money keeps 8 decimals (crypto quote currencies)
    for key in _ROUNDED:
        if metrics[key] is not None:
            metrics[key] = round(metrics[key], 4)
    for key in MONEY_KEYS:
        if metrics[key] is not None:
            metrics[key] = round(metrics[key], 8)
    return metrics


def by_exit_reason(trades: Sequence[TradeClosed]) -> list[dict[str, Any]]:
    """One row per exit reason, most frequent first: count, win rate, average pnl %, total pnl."""
    groups: dict[str, list[TradeClosed]] = {}
    for trade in trades:
        groups.setdefault(trade.exit_reason, []).append(trade)
    rows = []
    for reason, group in groups.items():
        pnls = np.array([t.pnl for t in group])
        rows.append({"exit_reason": reason, "trades": len(group),
                     "win_rate_pct": round(win_rate_pct(pnls), 4),
                     "avg_pnl_pct": round(float(np.mean([t.pnl_pct for t in group])), 4),
                     "total_pnl": round(float(pnls.sum()), 8)})
    rows.sort(key=lambda r: (-r["trades"], r["exit_reason"]))
    return rows


def by_month(trades: Sequence[TradeClosed], equity: EquitySeries, initial_balance: float,
             closes: np.ndarray, first_open: float) -> list[dict[str, Any]]:
    """One row per UTC month of the replay (``trading.backtest.periods.by_period``)."""
    return by_period(trades, equity.ts, equity.values, initial_balance, closes, first_open, "month")

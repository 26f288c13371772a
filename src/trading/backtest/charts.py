"""The report's pictures, drawn headless with matplotlib (imported only by this module).

``equity.png``: the equity curve and the drawdown below it. ``trades.png``: the price with every
entry and exit, the stop-loss and take-profit levels while a trade is open, and the equity and
drawdown below, all on one time axis. Long series are drawn as a min/max envelope of a few
thousand buckets, so a million bars plot in about the time a thousand do, and keep their extremes.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)  # backtrader.plot forces TkAgg; a report must draw headless

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import numpy as np  # noqa: E402

from trading.backtest.metrics import EquitySeries  # noqa: E402
from trading.backtest.report_inputs import ReplayReport  # noqa: E402
from trading.core.timeutil import epoch_seconds  # noqa: E402

PLOT_POINTS = 4000
DAY = 86400.0
WIN, LOSS, PRICE, EQUITY, DRAWDOWN = "#1a9850", "#d73027", "#4d4d4d", "#2166ac", "#d73027"


def envelope(ts: np.ndarray, values: np.ndarray, points: int = PLOT_POINTS,
             lows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bucket start times and each bucket's min and max, so long curves plot fast and keep extremes.

    ``lows`` (default ``values``) supplies the minima, for a high/low price band.
    """
    lows = values if lows is None else lows
    starts = bucket_starts(len(values), points)
    if len(starts) == len(values):
        return ts, lows, values
    return ts[starts], np.minimum.reduceat(lows, starts), np.maximum.reduceat(values, starts)


def bucket_starts(n: int, points: int = PLOT_POINTS) -> np.ndarray:
    """The first index of each of at most ``points`` equal buckets over ``n`` values."""
    return np.arange(0, n, max(1, math.ceil(n / points)))


def _days(ts: np.ndarray) -> np.ndarray:
    # matplotlib's date numbers count days from 1970-01-01
    return np.asarray(ts, dtype=np.float64) / DAY


def _equity_panels(top, bottom, equity: EquitySeries, drawdown: np.ndarray) -> None:
    x = _days(equity.ts)
    bx, lo, hi = envelope(x, np.asarray(equity.values, dtype=np.float64))
    top.plot(bx, hi, color=EQUITY, linewidth=0.9)
    top.fill_between(bx, lo, hi, color=EQUITY, alpha=0.3, linewidth=0)
    top.set_ylabel("equity")
    top.grid(alpha=0.3)
    bx, _, worst = envelope(x, drawdown)
    bottom.fill_between(bx, -worst, 0.0, color=DRAWDOWN, alpha=0.5, linewidth=0)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)


def _save(fig: Figure, path: Path) -> None:
    for ax in fig.axes:
        ax.xaxis_date()
    fig.autofmt_xdate()
    # fixed margins: tight_layout would draw the whole figure once more to measure it
    fig.subplots_adjust(left=0.075, right=0.985, top=0.95, bottom=0.1, hspace=0.08)
    fig.savefig(path, dpi=100)


def draw_equity(path: Path, report: ReplayReport) -> None:
    """equity.png: the equity curve over the drawdown."""
    fig = Figure(figsize=(11, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    _equity_panels(top, bottom, report.result.equity, report.drawdown)
    top.set_title(report.title)
    _save(fig, path)


def _segments(x0: np.ndarray, x1: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([np.column_stack([x0, y]), np.column_stack([x1, y])], axis=1)


def draw_trades(path: Path, report: ReplayReport) -> None:
    """trades.png: price with entries, exits and protective levels; equity and drawdown below."""
    result = report.result
    bars = result.traded
    fig = Figure(figsize=(13, 8))
    price, eq, dd = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 0.8]})
    x = _days(bars.ts)
    bx, lo, hi = envelope(x, np.asarray(bars.high), lows=np.asarray(bars.low))
    price.fill_between(bx, lo, hi, color=PRICE, alpha=0.25, linewidth=0, label="high-low")
    ends = np.minimum(np.append(bucket_starts(len(x))[1:], len(x)) - 1, len(x) - 1)
    price.plot(bx, np.asarray(bars.close)[ends], color=PRICE, linewidth=0.7, label="close")
    trades = result.trades
    if trades:
        entry_x = np.array([epoch_seconds(t.entry_time) for t in trades]) / DAY
        exit_x = np.array([epoch_seconds(t.exit_time) for t in trades]) / DAY
        entry_p = np.array([t.entry_price for t in trades])
        exit_p = np.array([t.exit_price for t in trades])
        won = np.array([t.pnl > 0 for t in trades])
        colors = np.where(won, WIN, LOSS)
        price.add_collection(LineCollection(np.stack([np.column_stack([entry_x, entry_p]),
                                                      np.column_stack([exit_x, exit_p])], axis=1),
                                            colors=colors, linewidths=0.8, alpha=0.8))
        if report.stop_loss_pct > 0:
            price.add_collection(LineCollection(
                _segments(entry_x, exit_x, entry_p * (1 - report.stop_loss_pct / 100.0)),
                colors=LOSS, linewidths=0.8, linestyles="dashed", label="stop loss"))
        if report.take_profit_pct > 0:
            price.add_collection(LineCollection(
                _segments(entry_x, exit_x, entry_p * (1 + report.take_profit_pct / 100.0)),
                colors=WIN, linewidths=0.8, linestyles="dashed", label="take profit"))
        price.scatter(entry_x, entry_p, marker="^", s=36, color=WIN, edgecolors="black",
                      linewidths=0.4, zorder=3, label=f"entry ({len(trades)})")
        price.scatter(exit_x, exit_p, marker="v", s=36, c=colors, edgecolors="black",
                      linewidths=0.4, zorder=3, label="exit (green: won, red: lost)")
    price.set_ylabel(report.symbol or "price")
    price.set_title(report.title)
    price.grid(alpha=0.3)
    price.legend(loc="upper left", fontsize=8, ncols=3)
    _equity_panels(eq, dd, result.equity, report.drawdown)
    _save(fig, path)

"""The report's pictures, drawn headless with matplotlib (imported only by this module).

``equity.png``: the equity curve and the drawdown below it. ``trades.png``: the price with every
entry and exit, the stop-loss and take-profit levels while a trade is open, and the equity and
drawdown below, all on one time axis; a basket's has a small panel per symbol (or, with
``--symbol``, that symbol alone). Long series are drawn as a min/max envelope of a few
thousand buckets, so a million bars plot in about the time a thousand do, and keep their extremes.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)  # backtrader.plot forces TkAgg; a report must draw headless

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

import numpy as np  # noqa: E402

from trading.backtest.metrics import EquitySeries  # noqa: E402
from trading.backtest.report_inputs import ReplayReport  # noqa: E402
from trading.backtest.symbol_views import SymbolView, view_of  # noqa: E402
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


def _price_panel(price, view: SymbolView, report: ReplayReport, full: bool) -> None:
    """One symbol's price band and close, its trades (entry to exit, green won, red lost) and
    their protective levels; ``full`` adds the legend (the small panels of a basket have none)."""
    bars = view.traded
    x = _days(bars.ts)
    bx, lo, hi = envelope(x, np.asarray(bars.high), lows=np.asarray(bars.low))
    price.fill_between(bx, lo, hi, color=PRICE, alpha=0.25, linewidth=0, label="high-low")
    ends = np.minimum(np.append(bucket_starts(len(x))[1:], len(x)) - 1, len(x) - 1)
    price.plot(bx, np.asarray(bars.close)[ends], color=PRICE, linewidth=0.7, label="close")
    trades = view.trades
    size = 36 if full else 16
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
        price.scatter(entry_x, entry_p, marker="^", s=size, color=WIN, edgecolors="black",
                      linewidths=0.4, zorder=3, label=f"entry ({len(trades)})")
        price.scatter(exit_x, exit_p, marker="v", s=size, c=colors, edgecolors="black",
                      linewidths=0.4, zorder=3, label="exit (green: won, red: lost)")
    price.grid(alpha=0.3)
    if full:
        price.set_ylabel(view.symbol or "price")
        price.legend(loc="upper left", fontsize=8, ncols=3)
    else:
        pnl = sum(t.pnl for t in view.trade_rows)
        currency = report.result.metrics.get("quote_currency") or ""
        held = ", 1 open" if view.still_open else ""
        title = f"{view.symbol}: {len(trades)} trades{held}, pnl {pnl:+.6g} {currency}"
        price.set_title(title.rstrip(), fontsize=9, loc="left")
        price.tick_params(labelsize=7)
        # prices of a few satoshis: 4.5e-05 on the axis, not an offset over the panel's title
        price.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.4g}"))


def draw_trades(path: Path, report: ReplayReport) -> None:
    """trades.png: price with entries, exits and protective levels; equity and drawdown below.
    A basket draws a small panel per symbol above the account's equity, or with ``--symbol``
    (``report.focus``) that one symbol alone as a one-symbol replay is drawn."""
    views = report.views
    if len(views) > 1 and not report.focus:
        _draw_basket_trades(path, report)
        return
    view = view_of(views, report.focus) if report.focus else views[0]
    fig = Figure(figsize=(13, 8))
    price, eq, dd = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 0.8]})
    _price_panel(price, view, report, full=True)
    price.set_title(report.title if len(views) == 1 else f"{view.symbol} in {report.title}")
    _equity_panels(eq, dd, report.result.equity, report.drawdown)
    _save(fig, path)


def basket_columns(symbols: int) -> int:
    """How many columns of small panels a basket's trades.png has."""
    return 1 if symbols <= 2 else 2 if symbols <= 6 else 3 if symbols <= 15 else 4


def _draw_basket_trades(path: Path, report: ReplayReport) -> None:
    views = report.views
    cols = basket_columns(len(views))
    rows = math.ceil(len(views) / cols)
    fig = Figure(figsize=(13, 2.3 * rows + 3.6))
    grid = fig.add_gridspec(rows + 2, cols, height_ratios=[2.3] * rows + [1.5, 0.9])
    first = None
    for k, view in enumerate(views):
        panel = fig.add_subplot(grid[k // cols, k % cols], sharex=first)
        first = first or panel
        _price_panel(panel, view, report, full=False)
        panel.tick_params(axis="x", labelbottom=False)  # the time axis is under the drawdown
    eq = fig.add_subplot(grid[rows, :], sharex=first)
    dd = fig.add_subplot(grid[rows + 1, :], sharex=first)
    _equity_panels(eq, dd, report.result.equity, report.drawdown)
    eq.tick_params(labelbottom=False)
    fig.suptitle(report.title, fontsize=11)
    for ax in fig.axes:
        ax.xaxis_date()
    for label in dd.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    top = 1.0 - 0.75 / fig.get_figheight()  # the title's room, the same in inches at any height
    fig.subplots_adjust(left=0.075, right=0.985, top=top, bottom=0.7 / fig.get_figheight(),
                        hspace=0.45, wspace=0.18)
    fig.savefig(path, dpi=100)

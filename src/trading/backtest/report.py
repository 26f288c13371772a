"""What a replay produced, as numbers and files: metrics, trades.csv, equity.csv/png, a summary.

Metric definitions (``compute_metrics``):

* returns are per bar, from the equity at each bar's close, the initial balance first;
  ``sharpe`` = mean / sample std, ``sortino`` = mean / downside deviation (root mean square of the
  negative returns over all bars), both annualised by sqrt(bars per 365-day year: markets here
  trade around the clock), risk-free rate 0; 0.0 when undefined (flat equity, < 2 returns);
* ``max_drawdown_pct`` is the largest fall from a running peak (the initial balance counts as the
  first peak), as a positive percentage of that peak;
* ``win_rate_pct`` and ``profit_factor`` use each trade's ``pnl`` as the strategy reports it (net
  of fees); ``profit_factor`` = gross profit / gross loss, None (JSON null) when there is no losing
  trade, since the ratio is then infinite or undefined;
* ``exposure_pct`` is the share of bars that end with a position open: a closed trade covers the
  bars from its entry bar up to, not including, its exit bar (fills happen at a bar's open);
* ``start``/``end`` are the open times of the first and last bar, ISO 8601 UTC.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from trading.core.equity import drawdown_pct
from trading.core.events import TRADE_FIELDS, TradeClosed
from trading.core.timeutil import epoch_seconds, iso_z

METRIC_KEYS = ("trades", "win_rate_pct", "total_return_pct", "max_drawdown_pct", "sharpe", "sortino",
               "profit_factor", "exposure_pct", "fees", "final_equity", "start", "end")
EQUITY_FIELDS = ("time", "equity", "drawdown_pct")
YEAR_SECONDS = 365 * 86400
CSV_CHUNK = 50_000
PLOT_POINTS = 4000  # longer curves are drawn as a min/max envelope of this many buckets


@dataclass(frozen=True)
class EquitySeries:
    """Account value at each bar's close; ``ts`` is the bar's open time, epoch seconds UTC."""

    ts: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


def drawdown_series(values: np.ndarray, initial_balance: float) -> np.ndarray:
    """Fall from the running peak (the initial balance included) at each bar, in percent."""
    peak = np.maximum.accumulate(np.concatenate(([initial_balance], values)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, drawdown_pct(peak, values), 0.0)


def _ratio(mean: float, spread: float, per_year: float) -> float:
    if not spread or not math.isfinite(spread):
        return 0.0
    return mean / spread * math.sqrt(per_year)


def _exposure_pct(trades: Sequence[TradeClosed], ts: np.ndarray) -> float:
    if not len(ts) or not trades:
        return 0.0
    entries = np.array([epoch_seconds(t.entry_time) for t in trades])
    exits = np.array([epoch_seconds(t.exit_time) for t in trades])
    held = np.zeros(len(ts) + 1, dtype=np.int64)
    np.add.at(held, np.searchsorted(ts, entries, side="left"), 1)
    np.add.at(held, np.searchsorted(ts, exits, side="left"), -1)
    open_bars = np.count_nonzero(np.cumsum(held[:-1]) > 0)
    return open_bars / len(ts) * 100.0


def compute_metrics(trades: Sequence[TradeClosed], equity: EquitySeries, initial_balance: float,
                    interval_seconds: float | None = None) -> dict[str, Any]:
    """The replay's figures, keyed by METRIC_KEYS (see the module docstring for definitions).

    ``interval_seconds`` (the bar spacing, for annualising) defaults to the median spacing.
    """
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
    gross_profit = float(pnls[pnls > 0].sum())
    gross_loss = float(-pnls[pnls < 0].sum())
    metrics: dict[str, Any] = {
        "trades": len(trades),
        "win_rate_pct": float((pnls > 0).mean() * 100.0) if len(pnls) else 0.0,
        "total_return_pct": (final / initial_balance - 1.0) * 100.0 if initial_balance else 0.0,
        "max_drawdown_pct": float(drawdown_series(values, initial_balance).max()) if len(values) else 0.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "exposure_pct": _exposure_pct(trades, ts),
        "fees": float(sum(t.fees for t in trades)),
        "final_equity": final,
        "start": iso_z(float(ts[0])) if len(ts) else None,
        "end": iso_z(float(ts[-1])) if len(ts) else None,
    }
    # round for people reading metrics.json; money keeps 8 decimals (crypto quote currencies)
    for key in ("win_rate_pct", "total_return_pct", "max_drawdown_pct", "sharpe", "sortino",
                "profit_factor", "exposure_pct"):
        if metrics[key] is not None:
            metrics[key] = round(metrics[key], 4)
    for key in ("fees", "final_equity"):
        metrics[key] = round(metrics[key], 8)
    return metrics


def _trade_row(trade: TradeClosed) -> list[Any]:
    row = []
    for name in TRADE_FIELDS:
        value = getattr(trade, name)
        row.append(iso_z(value) if isinstance(value, datetime) else value)
    return row


def _write_equity_csv(path: Path, equity: EquitySeries, drawdown: np.ndarray) -> None:
    # vectorised text in chunks: a million rows in about a second, without a million-string list
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(EQUITY_FIELDS) + "\n")
        for i in range(0, len(equity), CSV_CHUNK):
            ts = np.asarray(equity.ts[i:i + CSV_CHUNK], dtype=np.int64).astype("datetime64[s]")
            times = np.datetime_as_string(ts, unit="s")
            values = equity.values[i:i + CSV_CHUNK].tolist()
            fh.writelines(f"{t}Z,{v!r},{d:.6f}\n" for t, v, d in
                          zip(times, values, drawdown[i:i + CSV_CHUNK].tolist()))


def _envelope(ts: np.ndarray, values: np.ndarray, points: int) -> tuple[np.ndarray, ...]:
    """Bucket times and each bucket's min and max, so long curves plot fast and keep extremes."""
    step = max(1, math.ceil(len(values) / points))
    if step == 1:
        return ts, values, values
    starts = np.arange(0, len(values), step)
    return ts[starts], np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)


def _write_plot(path: Path, equity: EquitySeries, drawdown: np.ndarray, title: str) -> None:
    import matplotlib  # backtrader.plot forces TkAgg; a report must draw headless

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    times = np.asarray(equity.ts, dtype=np.int64).astype("datetime64[s]")
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 6),
                                      gridspec_kw={"height_ratios": [3, 1]})
    try:
        x, lo, hi = _envelope(times, np.asarray(equity.values), PLOT_POINTS)
        top.plot(x, hi, color="tab:blue", linewidth=0.9)
        top.fill_between(x, lo, hi, color="tab:blue", alpha=0.3, linewidth=0)
        top.set_ylabel("equity")
        top.set_title(title)
        top.grid(alpha=0.3)
        x, _, worst = _envelope(times, drawdown, PLOT_POINTS)
        bottom.fill_between(x, -worst, 0.0, color="tab:red", alpha=0.5, linewidth=0)
        bottom.set_ylabel("drawdown %")
        bottom.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def write_report(out_dir: str | Path, trades: Sequence[TradeClosed], equity: EquitySeries,
                 metrics: dict[str, Any], initial_balance: float | None = None,
                 title: str = "equity") -> dict[str, Path]:
    """Write trades.csv, metrics.json, equity.csv and equity.png; return their paths by name.

    Drawdown is measured from the initial balance when given, else from the first equity value.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("trades.csv", "metrics.json", "equity.csv", "equity.png")}
    with paths["trades.csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRADE_FIELDS)
        writer.writerows(_trade_row(t) for t in trades)
    ordered = {key: metrics[key] for key in METRIC_KEYS}
    paths["metrics.json"].write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")
    values = np.asarray(equity.values, dtype=np.float64)
    base = initial_balance if initial_balance is not None else (values[0] if len(values) else 0.0)
    drawdown = drawdown_series(values, base)
    _write_equity_csv(paths["equity.csv"], equity, drawdown)
    _write_plot(paths["equity.png"], equity, drawdown, title)
    return paths


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def format_summary(metrics: dict[str, Any], title: str = "Replay") -> str:
    """A small aligned table for the terminal."""
    pf = metrics["profit_factor"]
    rows = [
        ("Period", f"{metrics['start']} .. {metrics['end']}"),
        ("Trades", str(metrics["trades"])),
        ("Win rate", _pct(metrics["win_rate_pct"])),
        ("Total return", _pct(metrics["total_return_pct"])),
        ("Max drawdown", _pct(metrics["max_drawdown_pct"])),
        ("Sharpe", f"{metrics['sharpe']:.2f}"),
        ("Sortino", f"{metrics['sortino']:.2f}"),
        ("Profit factor", f"{pf:.2f}" if pf is not None else "n/a (no losing trade)"),
        ("Exposure", _pct(metrics["exposure_pct"])),
        ("Fees", f"{metrics['fees']:.8g}"),
        ("Final equity", f"{metrics['final_equity']:.8g}"),
    ]
    width = max(len(label) for label, _ in rows)
    body = [f"  {label:<{width}}  {value}" for label, value in rows]
    rule = "  " + "-" * max(len(line) - 2 for line in body + [title])
    return "\n".join([f"  {title}", rule, *body])

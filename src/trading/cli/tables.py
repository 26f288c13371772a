"""Aligned terminal tables (rich) for replay and sweep reports: what a person reads first."""
from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 220  # columns when stdout is a file or a pipe (rich would assume 80)

# (label, summary key, format) in the order a person reads them
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Trades", "trades", "int"),
    ("Win rate", "win_rate_pct", "pct"),
    ("Total return", "total_return_pct", "pct"),
    ("Market (buy & hold)", "market_change_pct", "pct"),
    ("Max drawdown", "max_drawdown_pct", "pct"),
    ("Sharpe", "sharpe", "ratio"),
    ("Sortino", "sortino", "ratio"),
    ("Profit factor", "profit_factor", "pf"),
    ("Exposure", "exposure_pct", "pct"),
    ("Avg trade", "avg_trade_hours", "hours"),
    ("Median trade", "median_trade_hours", "hours"),
    ("Best trade", "best_trade_pct", "pct"),
    ("Worst trade", "worst_trade_pct", "pct"),
    ("Fees", "fees", "money"),
    ("Final equity", "final_equity", "money"),
)


def console() -> Console:
    """A console on stdout; wide enough for the tables when stdout is not a terminal."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False,
                   width=None if sys.stdout.isatty() else PIPE_WIDTH)


def duration(hours: float | None) -> str:
    """``2d 3h 15m`` for a duration in hours."""
    if hours is None:
        return "n/a"
    minutes = round(hours * 60)
    days, rest = divmod(minutes, 1440)
    parts = [f"{days}d"] if days else []
    if days or rest >= 60:
        parts.append(f"{rest // 60}h")
    parts.append(f"{rest % 60}m")
    return " ".join(parts)


def fmt(value: Any, kind: str, trades: int = 1) -> str:
    """One figure as a person reads it."""
    if kind == "pf" and value is None:
        return "n/a (no loss)" if trades else "n/a"
    if value is None:
        return "n/a"
    if kind == "int":
        return f"{value:,}"
    if kind == "pct":
        return f"{value:.2f} %"
    if kind in ("ratio", "pf"):
        return f"{value:.2f}"
    if kind == "hours":
        return duration(value)
    if kind == "money":
        return f"{value:.8g}"
    return str(value)


def _table(title: str | None, *columns: str, first_left: bool = True) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if (i == 0 and first_left) else "right", no_wrap=True)
    return table


def summary_table(summary: Mapping[str, Any]) -> Table:
    """The replay's figures, one per row, after its period."""
    table = _table(None, "", "")
    table.show_header = False
    table.add_row("Period", f"{summary.get('start')} .. {summary.get('end')}")
    for label, key, kind in SUMMARY_ROWS:
        table.add_row(label, fmt(summary.get(key), kind, summary.get("trades", 0)))
    return table


def exit_reason_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """metrics.json's by_exit_reason."""
    table = _table("By exit reason", "exit reason", "trades", "win rate", "avg pnl", "total pnl")
    for row in rows:
        table.add_row(row["exit_reason"], f"{row['trades']:,}", fmt(row["win_rate_pct"], "pct"),
                      fmt(row["avg_pnl_pct"], "pct"), fmt(row["total_pnl"], "money"))
    return table


def month_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """metrics.json's by_month."""
    table = _table("By month", "month", "trades", "win rate", "pnl", "return", "market")
    for row in rows:
        table.add_row(row["month"], f"{row['trades']:,}", fmt(row["win_rate_pct"], "pct"),
                      fmt(row["pnl"], "money"), fmt(row["return_pct"], "pct"),
                      fmt(row["market_change_pct"], "pct"))
    return table


def risk_table(risk: Mapping[str, Any]) -> Table:
    """metrics.json's risk: entries refused per rule and the kill switch."""
    table = _table("Risk rules", "rule", "entries refused")
    refused = risk.get("entries_refused") or {}
    for rule, count in refused.items():
        table.add_row(rule, f"{count:,}")
    if not refused:
        table.add_row("(none)", "0")
    kill = risk.get("kill_switch")
    table.add_row("kill switch", f"tripped {kill['time']}" if kill else "not tripped")
    return table


def comparison_table(columns: Sequence[tuple[str, Mapping[str, Any]]], title: str,
                     extra: Sequence[tuple[str, Sequence[str]]] = ()) -> Table:
    """Several replays side by side: one row per figure, one column per config; ``extra`` rows
    (label, one cell per config) follow the period."""
    table = _table(title, "", *(label for label, _ in columns))
    table.add_row("Period", *(f"{m.get('start', '')[:16]} .. {m.get('end', '')[:16]}"
                              for _, m in columns))
    for label, cells in extra:
        table.add_row(label, *cells)
    for label, key, kind in SUMMARY_ROWS:
        table.add_row(label, *(fmt(m.get(key), kind, m.get("trades", 0)) for _, m in columns))
    return table


# (header, column, format) of a sweep's ranking table, compact (a terminal is often 80 wide);
# out of sample adds the oos_ twins
RANKING_COLUMNS = (("trades", "trades", "int"), ("win %", "win_rate_pct", "num"),
                   ("return %", "total_return_pct", "num"), ("max dd %", "max_drawdown_pct", "num"),
                   ("sharpe", "sharpe", "num"), ("pf", "profit_factor", "pf"))
OOS_COLUMNS = (("oos trades", "oos_trades", "int"), ("oos return %", "oos_total_return_pct", "num"),
               ("oos max dd %", "oos_max_drawdown_pct", "num"), ("oos sharpe", "oos_sharpe", "num"),
               ("oos pf", "oos_profit_factor", "pf"))


def _compact(value: Any, kind: str, trades: int) -> str:
    if kind == "pf" and value is None:
        return "no loss" if trades else "n/a"
    if kind == "num" and value is not None:
        return f"{value:.2f}"
    return fmt(value, kind, trades)


def ranking_table(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], rank: str,
                  out_of_sample: bool, title: str) -> Table:
    """A sweep's best points: rank, the grid values, the figures (and out of sample beside them)."""
    columns = RANKING_COLUMNS + (OOS_COLUMNS if out_of_sample else ())
    headers = [axis.rpartition(".")[2] for axis in axes]  # stop_loss_pct for risk_management.stop_loss_pct
    table = _table(title, "#", *headers, *(header for header, _, _ in columns), first_left=False)
    for row in rows:
        cells = ["-" if row["rank"] is None else str(row["rank"]), *(str(row.get(a)) for a in axes)]
        for _, key, kind in columns:
            trades = row.get("oos_trades" if key.startswith("oos_") else "trades") or 0
            cells.append(_compact(row.get(key), kind, trades))
        table.add_row(*cells)
    return table

"""Aligned terminal tables (rich) for replay and sweep reports: what a person reads first."""
from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 220  # columns when stdout is a file or a pipe (rich would assume 80)

# (label, summary key, format) in the order a person reads them; "money" is in the quote currency
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Starting balance", "starting_balance", "money"),
    ("Final equity", "final_equity", "money"),
    ("Absolute profit", "absolute_profit", "money"),
    ("Total return", "total_return_pct", "pct"),
    ("CAGR", "cagr_pct", "pct"),
    ("Market (buy & hold)", "market_change_pct", "pct"),
    ("Trades", "trades", "int"),
    ("Wins / draws / losses", "wins", "wdl"),
    ("Win rate", "win_rate_pct", "pct"),
    ("Expectancy (per trade)", "expectancy", "money"),
    ("Expectancy ratio", "expectancy_ratio", "ratio"),
    ("Profit factor", "profit_factor", "pf"),
    ("Max drawdown", "max_drawdown_pct", "pct"),
    ("Drawdown from .. to", "max_drawdown_start", "drawdown"),
    ("Drawdown length", "max_drawdown_hours", "hours"),
    ("Calmar", "calmar", "ratio"),
    ("Sharpe", "sharpe", "ratio"),
    ("Sortino", "sortino", "ratio"),
    ("Exposure", "exposure_pct", "pct"),
    ("Avg trade", "avg_trade_hours", "hours"),
    ("Median trade", "median_trade_hours", "hours"),
    ("Avg winner / loser held", "avg_winner_hours", "winner_loser"),
    ("Best trade", "best_trade_pct", "pct"),
    ("Worst trade", "worst_trade_pct", "pct"),
    ("Longest win / loss streak", "max_consecutive_wins", "streaks"),
    ("Best day", "best_day", "day"),
    ("Worst day", "worst_day", "day"),
    ("Fees", "fees", "money"),
    ("Open at the end", "open_trades", "open"),
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


def fmt(value: Any, kind: str, trades: int = 1, currency: str = "") -> str:
    """One figure as a person reads it; money carries its ``currency``."""
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
        return f"{value:.8g} {currency}".rstrip()
    return str(value)


def _stamp(text: str | None) -> str:
    return text[:16].replace("T", " ") if text else "n/a"


def summary_cell(summary: Mapping[str, Any], key: str, kind: str) -> str:
    """The summary row ``key`` of kind ``kind`` (SUMMARY_ROWS) as a person reads it."""
    currency = summary.get("quote_currency") or ""
    money = lambda k: fmt(summary.get(k), "money", currency=currency)  # noqa: E731
    if kind == "wdl":
        return f"{summary.get('wins', 0)} / {summary.get('draws', 0)} / {summary.get('losses', 0)}"
    if kind == "drawdown":
        if not summary.get("max_drawdown_start"):
            return "n/a"
        back = summary.get("max_drawdown_recovered")
        return (f"{_stamp(summary['max_drawdown_start'])} .. {_stamp(summary['max_drawdown_end'])}"
                f" ({'recovered ' + _stamp(back) if back else 'not recovered'})")
    if kind == "winner_loser":
        return f"{duration(summary.get('avg_winner_hours'))} / {duration(summary.get('avg_loser_hours'))}"
    if kind == "streaks":
        return f"{summary.get('max_consecutive_wins', 0)} / {summary.get('max_consecutive_losses', 0)}"
    if kind == "day":
        day = summary.get(key)
        return f"{day} ({money(key + '_pnl')})" if day else "n/a"
    if kind == "open":
        count = summary.get("open_trades") or 0
        if not count:
            return "none"
        positions = "1 position" if count == 1 else f"{count} positions"
        return f"{positions}, pnl {money('open_pnl')} at the last close (in the total return)"
    return fmt(summary.get(key), kind, summary.get("trades", 0), currency)


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
        table.add_row(label, summary_cell(summary, key, kind))
    return table


def exit_reason_table(rows: Sequence[Mapping[str, Any]], currency: str = "") -> Table:
    """metrics.json's by_exit_reason."""
    table = _table("By exit reason", "exit reason", "trades", "win rate", "avg pnl",
                   _money_header("total pnl", currency))
    for row in rows:
        table.add_row(row["exit_reason"], f"{row['trades']:,}", fmt(row["win_rate_pct"], "pct"),
                      fmt(row["avg_pnl_pct"], "pct"), fmt(row["total_pnl"], "money"))
    return table


def symbol_table(rows: Sequence[Mapping[str, Any]], currency: str = "") -> Table:
    """metrics.json's by_symbol: a basket's trades, win rate, pnl, best and worst trade, exposure
    and the position still open at the end, per symbol."""
    table = _table("By symbol", "symbol", "trades", "win rate", _money_header("pnl", currency),
                   "best trade", "worst trade", "exposure", _money_header("open at the end", currency),
                   "market")
    for row in rows:
        still = fmt(row["open_pnl"], "money") if row["open_trades"] else "-"
        table.add_row(row["symbol"], f"{row['trades']:,}", fmt(row["win_rate_pct"], "pct"),
                      fmt(row["pnl"], "money"), fmt(row["best_trade_pct"], "pct"),
                      fmt(row["worst_trade_pct"], "pct"), fmt(row["exposure_pct"], "pct"), still,
                      fmt(row["market_change_pct"], "pct"))
    return table


def _money_header(name: str, currency: str) -> str:
    return f"{name} ({currency})" if currency else name


def period_table(rows: Sequence[Mapping[str, Any]], unit: str = "month", currency: str = "") -> Table:
    """metrics.json's by_day, by_week or by_month: trades closed, win rate, their pnl, the
    account's change and return, the market's change."""
    table = _table(f"By {unit}", unit if unit != "week" else "week of", "trades", "win rate",
                   _money_header("trades' pnl", currency), _money_header("account", currency),
                   "return", "market")
    for row in rows:
        table.add_row(row[unit], f"{row['trades']:,}", fmt(row["win_rate_pct"], "pct"),
                      fmt(row["pnl"], "money"), fmt(row.get("change"), "money"),
                      fmt(row["return_pct"], "pct"), fmt(row["market_change_pct"], "pct"))
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
        table.add_row(label, *(summary_cell(m, key, kind) for _, m in columns))
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

"""A sweep's results.csv: one row per point, appended as points finish, ranked at the end.

Columns: ``rank``, ``point`` (the point's key), one column per grid axis, the in-sample figures
(``METRIC_COLUMNS``: the main ones of ``trading.backtest.metrics.SUMMARY_KEYS``), with ``--train-end`` the same
figures out of sample prefixed ``oos_``, and ``seconds`` (the point's wall time). Appending row by
row means a stopped sweep keeps every finished point; re-running reads them back and skips them.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

from trading.backtest.metrics import SUMMARY_KEYS
from trading.backtest.sweep_worker import PointOutcome
from trading.config.overrides import parse_value

# fixed, not every summary key: a sweep folder written by an earlier version keeps its columns,
# so re-running its command still resumes it
METRIC_COLUMNS = ("trades", "win_rate_pct", "total_return_pct", "market_change_pct",
                  "max_drawdown_pct", "sharpe", "sortino", "profit_factor", "exposure_pct",
                  "avg_trade_hours", "median_trade_hours", "best_trade_pct", "worst_trade_pct",
                  "fees", "final_equity")
assert set(METRIC_COLUMNS) <= set(SUMMARY_KEYS)
OOS_PREFIX = "oos_"
# --rank NAME: (column, higher is better)
RANKS = {"sharpe": ("sharpe", True), "sortino": ("sortino", True),
         "total_return": ("total_return_pct", True), "profit_factor": ("profit_factor", True),
         "win_rate": ("win_rate_pct", True), "max_drawdown": ("max_drawdown_pct", False),
         "final_equity": ("final_equity", True), "trades": ("trades", True),
         "exposure": ("exposure_pct", True)}


def rank_column(name: str) -> tuple[str, bool]:
    """The column and direction ``--rank NAME`` sorts by (``total_return`` or ``total_return_pct``)."""
    for short, (column, higher) in RANKS.items():
        if name in (short, column):
            return column, higher
    raise ValueError(f"cannot rank by '{name}': use one of {', '.join(RANKS)}")


def _sort_value(row: Mapping[str, Any], column: str, higher: bool) -> float:
    value = row.get(column)
    if value is None:
        # no profit factor with trades means no losing trade: the best there is
        value = math.inf if column == "profit_factor" and row.get("trades") else -math.inf
        return -value if higher else value
    return -float(value) if higher else float(value)


def rank_rows(rows: Iterable[Mapping[str, Any]], by: str,
              min_trades: int = 0) -> list[dict[str, Any]]:
    """Rows best first by ``by`` (ties: higher total return, then the point key), numbered 1..n.

    A point with fewer than ``min_trades`` (in-sample) trades is listed after the ranked ones, in
    the same order, with no rank (None): a Sharpe ratio of two trades says nothing.
    """
    column, higher = rank_column(by)
    ordered = sorted(rows, key=lambda r: (_sort_value(r, column, higher),
                                          -(r.get("total_return_pct") or 0.0), r["point"]))
    ranked = [row for row in ordered if (row.get("trades") or 0) >= min_trades]
    unranked = [row for row in ordered if (row.get("trades") or 0) < min_trades]
    return ([{**row, "rank": i} for i, row in enumerate(ranked, start=1)]
            + [{**row, "rank": None} for row in unranked])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(value))  # numpy floats too, as plain numbers
    return str(value)


def _parse(value: str) -> Any:
    return None if value == "" else parse_value(value)


class SweepResults:
    """results.csv of one sweep folder."""

    def __init__(self, folder: Path, axes: list[str], out_of_sample: bool) -> None:
        self.path = folder / "results.csv"
        self.axes = list(axes)
        metrics = list(METRIC_COLUMNS)
        if out_of_sample:
            metrics += [OOS_PREFIX + k for k in METRIC_COLUMNS]
        self.columns = ["rank", "point", *self.axes, *metrics, "seconds"]

    def load(self) -> dict[str, dict[str, Any]]:
        """The points already done, by key (empty when the file does not exist yet)."""
        if not self.path.exists():
            return {}
        with self.path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != self.columns:
                raise ValueError(f"{self.path} has the columns {reader.fieldnames}, not this "
                                 f"sweep's; it belongs to another sweep")
            return {row["point"]: {k: (v if k == "point" else _parse(v)) for k, v in row.items()}
                    for row in reader}

    def row(self, outcome: PointOutcome, params: Mapping[str, Any]) -> dict[str, Any]:
        """A finished point as a results.csv row (not ranked yet)."""
        row: dict[str, Any] = {"rank": None, "point": outcome.key, **params}
        row.update({k: outcome.metrics.get(k) for k in METRIC_COLUMNS})
        if outcome.oos_metrics is not None:
            row.update({OOS_PREFIX + k: outcome.oos_metrics.get(k) for k in METRIC_COLUMNS})
        row["seconds"] = round(outcome.seconds, 4)
        return row

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one finished point; written through before this returns, so a stopped sweep
        (Ctrl+C, a killed process) loses no finished point."""
        new = not self.path.exists()
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            if new:
                writer.writerow(self.columns)
            writer.writerow([_cell(row.get(c)) for c in self.columns])

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the file with ``rows`` (ranked), atomically."""
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows([_cell(r.get(c)) for c in self.columns] for r in rows)
        tmp.replace(self.path)

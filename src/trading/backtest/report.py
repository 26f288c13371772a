"""A replay's report folder: trades.csv, equity.csv, metrics.json, the pictures and report.html.

``metrics.json`` holds ``summary`` (the figures of ``trading.backtest.metrics``), a basket's
``by_symbol`` (``trading.backtest.symbol_views``), the tables ``by_exit_reason`` and ``by_month``,
``risk`` (entries refused per rule, when the kill switch tripped) and ``provenance`` (the
effective config, the data file's path, hash and bars, a basket's every file, the version).
Pictures need matplotlib, imported only when one is drawn.
"""
from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from trading.backtest.html_report import write_html
from trading.backtest.metrics import EquitySeries
from trading.backtest.report_inputs import ReplayReport, json_safe
from trading.core.events import TRADE_FIELDS, TradeClosed
from trading.core.timeutil import iso_z

EQUITY_FIELDS = ("time", "equity", "drawdown_pct")
CSV_CHUNK = 50_000
TEXT_FILES = ("trades.csv", "equity.csv", "metrics.json")
PICTURES = ("equity.png", "trades.png")
PAGE = "report.html"


def _trade_row(trade: TradeClosed) -> list[Any]:
    row = []
    for name in TRADE_FIELDS:
        value = getattr(trade, name)
        row.append(iso_z(value) if isinstance(value, datetime) else value)
    return row


def write_trades_csv(path: Path, trades: Sequence[TradeClosed]) -> None:
    """One row per round trip, the columns of TRADE_FIELDS (``symbol`` on every row), times
    ISO 8601 UTC (the positions still open at the end are the last rows, exit_reason "open",
    marked to market at the last close)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRADE_FIELDS)
        writer.writerows(_trade_row(t) for t in trades)


def _texts(values: np.ndarray, fmt) -> list[str]:
    """``fmt`` of each value, formatting only where the value changes (equity and drawdown stay
    flat while no position is open: most bars of most replays)."""
    if not len(values):
        return []
    changes = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    texts = np.array(list(map(fmt, values[changes].tolist())), dtype=object)
    runs = np.diff(np.append(changes, len(values)))
    return np.repeat(texts, runs).tolist()


def write_equity_csv(path: Path, equity: EquitySeries, drawdown: np.ndarray) -> None:
    """time, equity, drawdown_pct per bar: exact equity (shortest repr), vectorised (200,000
    rows in ~0.15 s)."""
    ts = np.asarray(equity.ts, dtype=np.int64).astype("datetime64[s]")
    times = np.datetime_as_string(ts, unit="s").tolist()
    values = _texts(np.asarray(equity.values, dtype=np.float64), repr)
    drawdowns = _texts(np.asarray(drawdown, dtype=np.float64), "{:.6f}".format)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(EQUITY_FIELDS) + "\n")
        for i in range(0, len(times), CSV_CHUNK):
            j = i + CSV_CHUNK
            fh.write("".join(map("{}Z,{},{}\n".format, times[i:j], values[i:j], drawdowns[i:j])))


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Indented JSON with a final newline; NaN and infinities written as null."""
    path.write_text(json.dumps(json_safe(dict(document)), indent=2) + "\n", encoding="utf-8")


def write_report(out_dir: str | Path, report: ReplayReport, pictures: bool = True) -> dict[str, Path]:
    """Write the report folder; return the written files' paths by name.

    ``pictures=False`` skips equity.png and trades.png (and so matplotlib's import); report.html
    is always written (it draws itself in the browser).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = TEXT_FILES + (PICTURES if pictures else ()) + (PAGE,)
    paths = {name: out / name for name in names}
    document = report.document
    write_trades_csv(paths["trades.csv"], report.result.trade_rows)
    write_equity_csv(paths["equity.csv"], report.result.equity, report.drawdown)
    write_json(paths["metrics.json"], document)
    write_html(paths[PAGE], report, document)
    if pictures:
        from trading.backtest.chart_worker import draw_pictures  # noqa: PLC0415 (matplotlib)

        draw_pictures(out, report)
    return paths

"""report.html: one self-contained interactive page (candles, trades, equity, drawdown, tables).

The page's scripts and style (``page/format.js``, ``tables.js``, ``report.js``, ``report.css``)
are inlined with the data,
so the file opens from disk with no network. Long replays are shown as at most ``MAX_CANDLES``
candles, each covering the same number of bars; trades keep their exact times and prices.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from trading.backtest.report_inputs import ReplayReport, candle_buckets
from trading.core.timeutil import epoch_seconds
from trading.core.settings import interval_label

PAGE_DIR = Path(__file__).resolve().parent / "page"
SCRIPTS = ("format.js", "tables.js", "report.js")  # inlined in this order
WIN, LOSS = "#1a9850", "#d73027"
PROVENANCE_KEYS = ("created", "version", "config_file", "overrides", "data", "warmup_bars")


def _round(values: np.ndarray) -> list[float]:
    # 10 significant digits: exact enough to read, a third shorter than repr
    return [float(f"{v:.10g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def page_data(report: ReplayReport, document: Mapping[str, Any]) -> dict[str, Any]:
    """The REPORT object the page's script draws from."""
    result = report.result
    bars = result.traded
    n = len(bars)
    starts, ends = candle_buckets(n)
    step_bars = int(starts[1] - starts[0]) if len(starts) > 1 else 1
    spacing = result.data.interval_seconds or 60.0
    values = np.asarray(result.equity.values, dtype=np.float64)
    drawdown = report.drawdown
    sl, tp = report.stop_loss_pct, report.take_profit_pct
    trades = [{
        "n": i + 1, "entry_t": epoch_seconds(t.entry_time), "exit_t": epoch_seconds(t.exit_time),
        "entry_p": t.entry_price, "exit_p": t.exit_price, "pnl": t.pnl, "pnl_pct": t.pnl_pct,
        "fees": t.fees, "reason": t.exit_reason, "bars": t.bars_held, "open": t is result.open_trade,
        "sl": t.entry_price * (1 - sl / 100.0) if sl > 0 else None,
        "tp": t.entry_price * (1 + tp / 100.0) if tp > 0 else None,
    } for i, t in enumerate(result.trade_rows)]
    bucket = f"{step_bars} bars of {interval_label(spacing)}" if step_bars > 1 else interval_label(spacing)
    summary = document["summary"]
    return {
        "title": report.title,
        "subtitle": f"{summary['start']} .. {summary['end']}, {n:,} bars; one candle = {bucket}; "
                    f"{len(result.trades)} trades"
                    + (", 1 position still open (marked to market)" if result.open_trade else ""),
        "candles": {
            "step": spacing * step_bars,
            "t": np.asarray(bars.ts)[starts].tolist(),
            "o": _round(np.asarray(bars.open)[starts]),
            "h": _round(np.maximum.reduceat(np.asarray(bars.high), starts)) if n else [],
            "l": _round(np.minimum.reduceat(np.asarray(bars.low), starts)) if n else [],
            "c": _round(np.asarray(bars.close)[ends]),
        },
        "equity": {
            "t": np.asarray(result.equity.ts)[starts].tolist(),
            "lo": _round(np.minimum.reduceat(values, starts)) if n else [],
            "hi": _round(np.maximum.reduceat(values, starts)) if n else [],
        },
        "drawdown": {
            "t": np.asarray(result.equity.ts)[starts].tolist(),
            "v": _round(np.maximum.reduceat(drawdown, starts)) if n else [],
        },
        "trades": trades,
        "indicators": [dict(pane) for pane in report.indicators],
        "legend": legend(report),
        "tables": {key: document[key] for key in ("summary", "by_exit_reason", "by_day", "by_week",
                                                  "by_month", "risk") if key in document},
        "provenance": {key: document["provenance"].get(key) for key in PROVENANCE_KEYS
                       if key in document.get("provenance", {})},
    }


def legend(report: ReplayReport) -> list[dict[str, str]]:
    """What each colour and mark of the charts is, in the order they are drawn: ``kind`` is the
    swatch (candle, line, dash, up, down, area)."""
    entries = [{"label": "price (candle up / down)", "kind": "candle", "color": ""}]
    panes = list(report.indicators)
    for line in panes[0]["lines"] if panes else []:
        entries.append({"label": line["label"], "kind": "dash" if line.get("dash") else "line",
                        "color": line["color"]})
    entries += [{"label": "entry", "kind": "up", "color": WIN},
                {"label": "exit, won", "kind": "down", "color": WIN},
                {"label": "exit, lost", "kind": "down", "color": LOSS}]
    if report.stop_loss_pct > 0:
        entries.append({"label": f"stop loss ({report.stop_loss_pct:g} %)", "kind": "dash", "color": LOSS})
    if report.take_profit_pct > 0:
        entries.append({"label": f"take profit ({report.take_profit_pct:g} %)", "kind": "dash",
                        "color": WIN})
    for pane in panes[1:]:
        for line in pane["lines"]:
            entries.append({"label": line["label"], "kind": "line", "color": line["color"]})
    entries += [{"label": "equity", "kind": "area", "color": "#2166ac"},
                {"label": "drawdown", "kind": "area", "color": LOSS}]
    return entries


def _script_json(data: Mapping[str, Any]) -> str:
    # inside <script>, "</" would end the element early; JSON allows "\/"
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_html(report: ReplayReport, document: Mapping[str, Any]) -> str:
    """The whole page as text."""
    template = (PAGE_DIR / "report.html").read_text(encoding="utf-8")
    parts = {
        "__TITLE__": _html_text(report.title),
        "__CSS__": (PAGE_DIR / "report.css").read_text(encoding="utf-8"),
        "__DATA__": _script_json(page_data(report, document)),
        "__JS__": "\n".join((PAGE_DIR / name).read_text(encoding="utf-8") for name in SCRIPTS),
    }
    # one pass, so a placeholder's name inside the data is left alone
    return re.sub("|".join(parts), lambda m: parts[m.group(0)], template)


def write_html(path: Path, report: ReplayReport, document: Mapping[str, Any]) -> None:
    """Write report.html."""
    path.write_text(render_html(report, document), encoding="utf-8")

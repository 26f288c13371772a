"""report.html: one self-contained interactive page (candles, trades, equity, drawdown, tables).

The page's scripts and style (``page/format.js``, ``tables.js``, ``report.js``, ``report.css``)
are inlined with the data, so the file opens from disk with no network. Long replays are shown
as at most ``MAX_CANDLES`` candles, each covering the same number of bars; trades keep their
exact times and prices. A basket's page carries every symbol's candles and indicators and a
selector to pick the symbol drawn with its trades; equity and drawdown are the account's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from feeds.csv_bars import BarArrays
from trading.backtest.report_inputs import ReplayReport, candle_buckets
from trading.backtest.symbol_views import view_of
from trading.core.timeutil import epoch_seconds
from trading.core.settings import interval_label

PAGE_DIR = Path(__file__).resolve().parent / "page"
SCRIPTS = ("format.js", "tables.js", "report.js")  # inlined in this order
WIN, LOSS = "#1a9850", "#d73027"
PROVENANCE_KEYS = ("created", "version", "config_file", "overrides", "data", "warmup_bars")


def _round(values: np.ndarray) -> list[float]:
    # 10 significant digits: exact enough to read, a third shorter than repr
    return [float(f"{v:.10g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def _bucket_bars(starts: np.ndarray) -> int:
    return int(starts[1] - starts[0]) if len(starts) > 1 else 1


def candles(bars: BarArrays, spacing: float) -> dict[str, Any]:
    """``bars`` as at most MAX_CANDLES candles of the same number of bars each (``step``: a
    candle's seconds), keeping each bucket's extremes."""
    n = len(bars)
    starts, ends = candle_buckets(n)
    return {
        "step": spacing * _bucket_bars(starts),
        "t": np.asarray(bars.ts)[starts].tolist(),
        "o": _round(np.asarray(bars.open)[starts]),
        "h": _round(np.maximum.reduceat(np.asarray(bars.high), starts)) if n else [],
        "l": _round(np.minimum.reduceat(np.asarray(bars.low), starts)) if n else [],
        "c": _round(np.asarray(bars.close)[ends]),
    }


def page_data(report: ReplayReport, document: Mapping[str, Any]) -> dict[str, Any]:
    """The REPORT object the page's script draws from. A basket's has ``symbols`` (each one's
    candles and indicators, for the page's symbol selector) and ``selected`` (the one shown
    first: ``--symbol``, else the first) instead of one symbol's ``candles`` and ``indicators``;
    its equity and drawdown are per time step, bucketed on their own."""
    result = report.result
    views = report.views
    shown = view_of(views, report.focus) if report.focus else views[0]
    spacing = result.data.interval_seconds or 60.0
    values = np.asarray(result.equity.values, dtype=np.float64)
    steps = np.asarray(result.equity.ts)
    starts, _ = candle_buckets(len(values))
    drawdown = report.drawdown
    sl, tp = report.stop_loss_pct, report.take_profit_pct
    still_open = result.open_trades or ((result.open_trade,) if result.open_trade else ())
    trades = [{
        "n": i + 1, "symbol": t.symbol, "entry_t": epoch_seconds(t.entry_time),
        "exit_t": epoch_seconds(t.exit_time), "entry_p": t.entry_price, "exit_p": t.exit_price,
        "pnl": t.pnl, "pnl_pct": t.pnl_pct, "fees": t.fees, "reason": t.exit_reason,
        "bars": t.bars_held, "open": any(t is o for o in still_open),
        "sl": t.entry_price * (1 - sl / 100.0) if sl > 0 else None,
        "tp": t.entry_price * (1 + tp / 100.0) if tp > 0 else None,
    } for i, t in enumerate(result.trade_rows)]
    shown_candles = candles(shown.traded, spacing)
    step_bars = round(shown_candles["step"] / spacing)
    bucket = f"{step_bars} bars of {interval_label(spacing)}" if step_bars > 1 else interval_label(spacing)
    summary = document["summary"]
    if report.is_basket:
        span = f"{len(values):,} time steps of {len(views)} symbols"
        held = len(still_open)
        positions = "1 position" if held == 1 else f"{held} positions"
        still = f", {positions} still open (marked to market)" if held else ""
    else:
        span = f"{len(shown.traded):,} bars"
        still = ", 1 position still open (marked to market)" if result.open_trade else ""
    data: dict[str, Any] = {
        "title": report.title,
        "subtitle": f"{summary['start']} .. {summary['end']}, {span}; one candle = {bucket}; "
                    f"{len(result.trades)} trades" + still,
        "equity": {
            "step": spacing * _bucket_bars(starts),
            "t": steps[starts].tolist(),
            "lo": _round(np.minimum.reduceat(values, starts)) if len(values) else [],
            "hi": _round(np.maximum.reduceat(values, starts)) if len(values) else [],
        },
        "drawdown": {
            "t": steps[starts].tolist(),
            "v": _round(np.maximum.reduceat(drawdown, starts)) if len(values) else [],
        },
        "trades": trades,
        "legend": legend(report, report.indicators.get(shown.symbol, ())),
        "tables": {key: document[key] for key in ("summary", "by_symbol", "by_exit_reason", "by_day",
                                                  "by_week", "by_month", "risk") if key in document},
        "provenance": {key: document["provenance"].get(key) for key in PROVENANCE_KEYS
                       if key in document.get("provenance", {})},
    }
    if report.is_basket:
        data["symbols"] = [
            {"symbol": view.symbol,
             "candles": shown_candles if view is shown else candles(view.traded, spacing),
             "indicators": [dict(p) for p in report.indicators.get(view.symbol, ())]}
            for view in views]
        data["selected"] = views.index(shown)
    else:
        data["candles"] = shown_candles
        data["indicators"] = [dict(p) for p in report.indicators.get(shown.symbol, ())]
    return data


def legend(report: ReplayReport, panes: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What each colour and mark of the charts is, in the order they are drawn (``panes``: the
    shown symbol's indicators; every symbol of a basket has the same): ``kind`` is the swatch
    (candle, line, dash, up, down, area)."""
    entries = [{"label": "price (candle up / down)", "kind": "candle", "color": ""}]
    panes = list(panes)
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

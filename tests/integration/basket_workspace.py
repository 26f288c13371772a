"""A basket bot on a venue's data: its config, its trades as rows, and the replay it must equal.

The config is the 0007 basket demo (paper broker) on a venue's data source with three symbols;
a venue's workspace (``BinanceWorkspace``, ``IbkrWorkspace``, ``YahooWorkspace``) points the bot
at its fake. What the run trades is compared, trade for trade, with ``tradingbot replay`` of the
same bars: each symbol warms up on the history the bot loaded, then every bar that closed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from bot_workspace import REPO, as_arrays, deep_update
from trading.backtest.replay import run_replay
from trading.config.loading import load_config
from trading.core.types import Bar

BASKET_CONFIG = REPO / "config" / "trading" / "0007.json"
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}


def write_basket_config(config_path: Path, symbols: Sequence[str], data: Mapping[str, Any],
                        **changes: Any) -> dict[str, Any]:
    """The basket demo on ``data`` (a venue's data section, without file_path and speed) over
    ``symbols``, an active strategy, at most two positions, the paper broker."""
    doc = json.loads(BASKET_CONFIG.read_text())
    doc.pop("$schema", None)
    doc["trading"].update(symbols=list(symbols), max_positions=2)
    doc["data"] = dict(data)
    doc["strategy"].update(ACTIVE)
    deep_update(doc, changes)
    config_path.write_text(json.dumps(doc, indent=2))
    return doc


def basket_trades(ws: Any) -> list[tuple]:
    """The closed trades in the bot's database, by exit time then symbol."""
    rows = ws.query("SELECT symbol, entry_time, exit_time, size, entry_price, exit_price, pnl, "
                    "exit_reason FROM trades ORDER BY exit_time, symbol")
    return [(s, str(e)[:19], str(x)[:19], round(size, 8), round(ep, 10), round(xp, 10),
             round(pnl, 8), reason) for s, e, x, size, ep, xp, pnl, reason in rows]


def replayed_basket_trades(config_path: Path, bars: Mapping[str, list[Bar]],
                           warmup: int) -> list[tuple]:
    """What a replay of ``bars`` (each symbol's, its first ``warmup`` only warming up) trades,
    as rows like ``basket_trades``."""
    config = load_config(config_path)
    basket = {symbol: as_arrays(list(one)) for symbol, one in bars.items()}
    replay = run_replay(config, basket[config.trading.symbols[0]], warmup_bars=warmup,
                        basket=basket)
    rows = [(t.symbol, _stored(t.entry_time), _stored(t.exit_time), round(t.size, 8),
             round(t.entry_price, 10), round(t.exit_price, 10), round(t.pnl, 8), t.exit_reason)
            for t in replay.trades]
    return sorted(rows, key=lambda t: (t[2], t[0]))


def _stored(when: Any) -> str:
    return when.isoformat()[:19].replace("T", " ")


def data_states(ws: Any) -> list[str]:
    """The data states the bot announced, in order (its ``status`` events of change ``data``)."""
    events = [e if isinstance(e, dict) else json.loads(e) for e in ws.events("status")]
    return [e["status"]["data_status"] for e in events if e.get("change") == "data"]

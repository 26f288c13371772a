"""Append-only JSON-lines journal of orders and trades under logs/json/ (``logging.save_trades``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from trading.core.events import OrderEvent, TradeClosed


class Journal:
    """Writes ``orders.jsonl`` and ``trades.jsonl``; one JSON object per line, with the bot id."""

    def __init__(self, folder: Path, bot_id: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.orders_path = folder / "orders.jsonl"
        self.trades_path = folder / "trades.jsonl"
        self.bot_id = bot_id

    def _append(self, path: Path, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in rows)

    def write(self, orders: Sequence[OrderEvent], trades: Sequence[TradeClosed]) -> None:
        self._append(self.orders_path, [{"bot_id": self.bot_id, **o.to_dict()} for o in orders])
        self._append(self.trades_path, [{"bot_id": self.bot_id, **t.to_dict()} for t in trades])

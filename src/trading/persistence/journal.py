"""Append-only JSON-lines journal of one bot, beside its database (``logging.save_trades``).

``logs/json/<bot_id>/`` holds ``orders.jsonl`` (every order event), ``trades.jsonl`` (closed
trades, with the entry mixin) and ``events.jsonl`` (kill switch, errors, rejections, status
changes): one JSON object per line, each with the bot id, for tools like ``jq``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from trading.core.events import Event, OrderEvent, TradeClosed

JOURNAL_DIR = Path("logs") / "json"


def journal_folder(bot_id: str, root: Path = JOURNAL_DIR) -> Path:
    """Where the journal of ``bot_id`` lives."""
    return root / bot_id


class Journal:
    """Writes one bot's ``orders.jsonl``, ``trades.jsonl`` and ``events.jsonl``."""

    def __init__(self, folder: Path, bot_id: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.orders_path = folder / "orders.jsonl"
        self.trades_path = folder / "trades.jsonl"
        self.events_path = folder / "events.jsonl"
        self.bot_id = bot_id

    def _append(self, path: Path, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in rows)

    def write(self, orders: Sequence[OrderEvent], trades: Sequence[TradeClosed]) -> None:
        """Append what one bar produced (called after the bar's checkpoint committed)."""
        self._append(self.orders_path, [{"bot_id": self.bot_id, **o.to_dict()} for o in orders])
        self._append(self.trades_path, [{"bot_id": self.bot_id, **t.to_dict()} for t in trades])

    def record_event(self, event: Event) -> None:
        """Append one event (kill switch, error, rejection, status change) to ``events.jsonl``."""
        self._append(self.events_path, [{"bot_id": self.bot_id, **event.to_dict()}])

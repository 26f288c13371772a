"""Append-only JSON-lines journal of one bot, beside its database (``logging.save_trades``).

``logs/json/<bot_id>/`` holds ``orders.jsonl`` (order events), ``trades.jsonl`` (closed trades,
with the entry mixin) and ``events.jsonl`` (kill switch, errors, rejections, status changes): one
JSON object per line, each with the bot id, for tools like ``jq``.

The database is the truth and the journal follows it: lines are written after each bar's commit,
an order event or a trade already in the journal is never written again (a restart re-sends the
orders that were pending), and ``catch_up`` appends what a crash between the commit and the
journal write left out, so every committed order state and trade appears exactly once.

``orders.jsonl`` and ``trades.jsonl`` stay open while the bot runs (opening and closing them on
every bar cost about as much as writing the lines) and are flushed after every write, so their
lines are in the files as soon as ``write`` returns; ``close()`` closes them.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

from trading.core.events import Event, OrderEvent, TradeClosed
from trading.core.timeutil import iso_or_value

log = logging.getLogger(__name__)

JOURNAL_DIR = Path("logs") / "json"


def journal_folder(bot_id: str, root: Path = JOURNAL_DIR) -> Path:
    """Where the journal of ``bot_id`` lives."""
    return root / bot_id


def _order_key(row: dict[str, Any]) -> tuple:
    return (row.get("client_order_id"), row.get("status"), row.get("filled_size"))


def _trade_key(row: dict[str, Any]) -> tuple:
    return (row.get("entry_time"), row.get("exit_time"), row.get("exit_reason"))


class Journal:
    """Writes one bot's ``orders.jsonl``, ``trades.jsonl`` and ``events.jsonl``."""

    def __init__(self, folder: Path, bot_id: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.orders_path = folder / "orders.jsonl"
        self.trades_path = folder / "trades.jsonl"
        self.events_path = folder / "events.jsonl"
        self.bot_id = bot_id
        self._orders_seen = {_order_key(r) for r in self._read(self.orders_path)}
        self._trades_seen = {_trade_key(r) for r in self._read(self.trades_path)}
        self._open: dict[Path, IO[str]] = {}  # the per-bar files, kept open by write()

    @property
    def has_history(self) -> bool:
        """Whether the journal already records orders or trades of this bot."""
        return bool(self._orders_seen or self._trades_seen)

    def _read(self, path: Path) -> Iterable[dict[str, Any]]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        rows = []
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
            except ValueError:  # a line cut short by a crash: skipped, its content comes back
                log.warning("%s line %d is not JSON (cut short by a crash?); ignored", path, number)
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def _append(self, path: Path, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in rows)

    def _append_kept(self, path: Path, rows: Sequence[dict[str, Any]]) -> None:
        """Append on a handle kept open between bars, flushed before returning."""
        if not rows:
            return
        fh = self._open.get(path)
        if fh is None:
            fh = self._open[path] = path.open("a", encoding="utf-8")
        fh.writelines(json.dumps(row) + "\n" for row in rows)
        fh.flush()

    def close(self) -> None:
        """Close the files ``write`` keeps open (a later ``write`` opens them again)."""
        files, self._open = self._open, {}
        failed: OSError | None = None
        for fh in files.values():
            try:
                fh.close()  # flushes: a full disk can refuse it, the others are closed still
            except OSError as exc:
                failed = failed or exc
        if failed is not None:
            raise failed

    def _new(self, rows: Iterable[dict[str, Any]], seen: set[tuple], key: Any) -> list[dict]:
        fresh = []
        for row in rows:
            k = key(row)
            if k not in seen:
                seen.add(k)
                fresh.append(row)
        return fresh

    def write(self, orders: Sequence[OrderEvent], trades: Sequence[TradeClosed]) -> None:
        """Append what one bar produced (called after the bar's checkpoint committed)."""
        self._append_kept(self.orders_path, self._new(
            ({"bot_id": self.bot_id, **o.to_dict()} for o in orders), self._orders_seen, _order_key))
        self._append_kept(self.trades_path, self._new(
            ({"bot_id": self.bot_id, **t.to_dict()} for t in trades), self._trades_seen, _trade_key))

    def record_event(self, event: Event) -> None:
        """Append one event (kill switch, error, rejection, status change) to ``events.jsonl``."""
        self._append(self.events_path, [{"bot_id": self.bot_id, **event.to_dict()}])

    def catch_up(self, orders: Sequence[dict[str, Any]], trades: Sequence[dict[str, Any]]) -> int:
        """Append the committed orders (their latest state) and trades the journal lacks, from
        the store's rows; returns how many lines were added."""
        def line(row: dict[str, Any], kind: str) -> dict[str, Any]:
            return {"bot_id": self.bot_id, **{k: iso_or_value(v) for k, v in row.items()},
                    "kind": kind}

        missing_orders = self._new((line(o, "order") for o in orders), self._orders_seen, _order_key)
        missing_trades = self._new((line(t, "trade_exit") for t in trades), self._trades_seen,
                                   _trade_key)
        self._append(self.orders_path, missing_orders)
        self._append(self.trades_path, missing_trades)
        added = len(missing_orders) + len(missing_trades)
        if added:
            log.info("journal %s: added %d line(s) committed to the database but missing here "
                     "(the bot stopped between its commit and the journal)", self.folder, added)
        return added

"""What a bot remembers of its Telegram commands: ``command`` events in its own store.

Each command obeyed or skipped is recorded with Telegram's update id before it acts, so the
next run knows which updates an earlier run already took (``TelegramCommands.sync``) and the
database keeps who commanded what. No new table: the events table already holds the bot's news.
"""
from __future__ import annotations

import logging
from typing import Any

from trading.core.errors import StoreError
from trading.core.events import RemoteCommandEvent
from trading.core.timeutil import utcnow

log = logging.getLogger(__name__)

KIND = RemoteCommandEvent.kind
MAX_TEXT = 200  # a command is short; a long message is kept only in part


class StoredCommands:
    """``notify.telegram_commands.CommandMemory`` over the bot's store (call from any thread)."""

    def __init__(self, store: Any, bot_id: str, by: str = "telegram") -> None:
        self.store = store
        self.bot_id = bot_id
        self.by = by

    def last_update_id(self) -> int | None:
        """The highest update id recorded by this interface, or None (a first run, or the
        store cannot be read: then every pending command is listed as skipped, none obeyed)."""
        try:
            events = self.store.events(self.bot_id, KIND)
        except StoreError as exc:
            log.warning("could not read the commands earlier runs took (%s): every command "
                        "waiting at start is listed as skipped", exc)
            return None
        ids = [e["update_id"] for e in events
               if e.get("by") == self.by and isinstance(e.get("update_id"), int)]
        return max(ids) if ids else None

    def record(self, update_id: int, text: str, outcome: str) -> None:
        """Record one command; a store that fails is logged and the command goes on."""
        event = RemoteCommandEvent(time=utcnow(), by=self.by, text=text[:MAX_TEXT],
                                   outcome=outcome, update_id=update_id)
        try:
            self.store.record_event(self.bot_id, event)
        except StoreError as exc:
            log.warning("could not record the %s command %r (%s): a restart may list it as "
                        "skipped", self.by, text[:40], exc)

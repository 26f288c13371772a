"""A loopback Telegram Bot API server, enough for python-telegram-bot's Bot.

``POST /bot<token>/<method>`` with form or JSON fields, answered ``{"ok": true, "result": ...}``:
getMe, deleteWebhook, getUpdates (long polling, waits at most ``MAX_POLL_WAIT`` s), sendMessage.
``push_command`` queues a message from a chat as an update (a private chat by default; a group
chat with another sender, an edited message, any message date); ``sent`` lists what the bot sent.
getUpdates follows the Bot API's offsets: a positive offset confirms (forgets) every earlier
update, a negative one ``-n`` returns the last ``n`` and forgets the rest. ``allowed_updates`` is
not applied (real Telegram does not apply it to updates made before it was set either), so the
bot's own checks are what tests see. ``misbehave`` delays or fails sendMessage (429 with
retry_after, 5xx).
"""
from __future__ import annotations

import itertools
import time
from typing import Any

from fakes.http_server import LoopbackServer, QuietHandler, answer, read_body

MAX_POLL_WAIT = 2.0
BOT_USER = {"id": 777000, "is_bot": True, "first_name": "Fake", "username": "fake_trading_bot"}


class _Handler(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        fake: FakeTelegram = self.server.fake  # type: ignore[attr-defined]
        fields = read_body(self)
        _, _, rest = self.path.partition("/bot")
        token, _, method = rest.partition("/")
        with fake.lock:
            fake.calls.append(method)
        if token != fake.token:
            answer(self, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        handler = getattr(fake, f"_{method}", None)
        if handler is None:
            answer(self, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        status, body = handler(fields)
        answer(self, status, body)


class FakeTelegram(LoopbackServer):
    """A Bot API server for one bot token."""

    def __init__(self, token: str) -> None:
        super().__init__(_Handler)
        self.token = token
        self.calls: list[str] = []
        self.messages: list[dict[str, Any]] = []  # what the bot sent: {"chat_id", "text"}
        self.send_attempts = 0
        self.polls = 0  # getUpdates answered
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    # -- what tests do ---------------------------------------------------------------------------
    def push_command(self, chat_id: int, text: str, date: float | None = None, *,
                     sender: int | None = None, chat_type: str | None = None,
                     edited: bool = False) -> int:
        """A message from chat ``chat_id`` for the bot's next getUpdates; returns its update id.

        ``sender`` defaults to the chat (a private chat's id is its user's id); ``chat_type``
        defaults to private for a positive chat id, else group. ``edited``: an edited_message.
        ``date`` (epoch seconds) is Telegram's message date, by default the host's clock.
        """
        command = text.split()[0] if text.split() else ""
        sent_at = int(date if date is not None else time.time())
        with self.lock:
            update_id = next(self._ids)
            message = {
                "message_id": update_id, "date": sent_at,
                "chat": {"id": chat_id, "type": chat_type or ("private" if chat_id > 0 else "group")},
                "from": {"id": sender if sender is not None else chat_id, "is_bot": False,
                         "first_name": "Owner"},
                "text": text}
            if command.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if edited:
                message["edit_date"] = sent_at + 1
            self._updates.append({"update_id": update_id,
                                  "edited_message" if edited else "message": message})
            self.lock.notify_all()
        return update_id

    def sent(self, chat_id: int | str | None = None) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.messages
                    if chat_id is None or str(m["chat_id"]) == str(chat_id)]

    def pending_updates(self) -> int:
        with self.lock:
            return len(self._updates)

    # -- Bot API methods -------------------------------------------------------------------------
    def _getMe(self, fields: dict) -> tuple[int, dict]:  # noqa: N802 (the API's names)
        return 200, {"ok": True, "result": BOT_USER}

    def _deleteWebhook(self, fields: dict) -> tuple[int, dict]:  # noqa: N802
        return 200, {"ok": True, "result": True}

    def _getUpdates(self, fields: dict) -> tuple[int, dict]:  # noqa: N802
        offset = int(fields.get("offset") or 0)
        wait = min(float(fields.get("timeout") or 0), MAX_POLL_WAIT)
        deadline = time.monotonic() + wait
        with self.lock:
            if offset < 0:  # the last -offset updates; every earlier one is forgotten
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed
            while not self._updates and time.monotonic() < deadline:
                self.lock.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            limit = int(fields.get("limit") or 100)
            self.polls += 1
            self.lock.notify_all()
            return 200, {"ok": True, "result": list(self._updates[:limit])}

    def _sendMessage(self, fields: dict) -> tuple[int, dict]:  # noqa: N802
        self.misbehave.wait()
        with self.lock:
            self.send_attempts += 1
            self.lock.notify_all()
        with self.lock:
            status = self.misbehave.failure()
        if status == 429:
            after = self.misbehave.retry_after or 1
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {after}",
                         "parameters": {"retry_after": after}}
        if status is not None:
            return status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        with self.lock:
            message_id = next(self._ids)
            self.messages.append({"chat_id": fields["chat_id"], "text": fields["text"]})
            self.lock.notify_all()
        return 200, {"ok": True, "result": {
            "message_id": message_id, "date": int(time.time()),
            "chat": {"id": int(fields["chat_id"]), "type": "private"},
            "from": BOT_USER, "text": fields["text"]}}

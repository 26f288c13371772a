"""Which Telegram updates are commands this bot obeys, and why the others are not.

A command is obeyed only when all of these hold:

- it is a new message (``message``): an edited message (``edited_message``) is never acted on, so
  a command takes effect once, when it is sent, and editing an old ``/status`` into ``/stop``
  does nothing;
- it comes from the configured chat (``TELEGRAM_CHAT_ID``);
- its sender may command the bot: a user listed in ``allowed_user_ids`` when the list is given;
  without a list, the owner of a private chat (whose chat id is their user id) and nobody in a
  group chat, where anyone who joins could otherwise stop the bot;
- it is addressed to this bot: ``/pause`` or ``/pause@<this bot's username>`` (any case), never
  ``/pause@some_other_bot``, which Telegram delivers to every bot in a group.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update

COMMAND_SHOWN = 40  # how much of a command a log line quotes


@dataclass(frozen=True)
class Verdict:
    """A command to obey (``text``), or why the update is not one (``reason``, for the log) and,
    when its sender may command the bot, what to answer (``answer``; a stranger never gets one).
    ``level``: the log level of ``reason``."""

    text: str | None
    reason: str = ""
    answer: str = ""
    level: int = logging.INFO


def first_word(text: str) -> str:
    words = text.split()
    return words[0][:COMMAND_SHOWN] if words else ""


def addressee(command: str) -> str | None:
    """The bot a command names after ``@`` (``/pause@other_bot`` -> ``other_bot``), or None."""
    _, at, name = command.partition("@")
    return name if at else None


@dataclass(frozen=True)
class Access:
    """The chat, the senders and the bot name that decide who commands this bot."""

    chat_id: str
    username: str  # this bot's own, from getMe
    allowed_user_ids: tuple[int, ...] = ()

    @property
    def group_without_list(self) -> bool:
        """The chat is a group (negative id) and no user ids are allowed: nobody may command."""
        return self.chat_id.startswith("-") and not self.allowed_user_ids

    def may_command(self, chat_type: str, sender: int | None) -> bool:
        if self.allowed_user_ids:
            return sender is not None and sender in self.allowed_user_ids
        return chat_type == "private" and sender is not None and str(sender) == self.chat_id

    def judge(self, update: Update) -> Verdict:
        """Whether ``update`` is a command for this bot, from someone who may give it."""
        message = update.message or update.edited_message
        if message is None:
            return Verdict(None, "not a message", level=logging.DEBUG)
        text = message.text or ""
        command = first_word(text)
        chat = str(message.chat.id)
        if chat != self.chat_id:
            return Verdict(None, f"ignored {command!r} from chat {chat}: only TELEGRAM_CHAT_ID "
                                 "may command this bot", level=logging.WARNING)
        sender = message.from_user.id if message.from_user is not None else None
        if not self.may_command(message.chat.type, sender):
            hint = ("in a group chat only the user ids in notifications.telegram.allowed_user_ids "
                    "(or TELEGRAM_ALLOWED_USER_IDS) may command this bot, and none are set"
                    if not self.allowed_user_ids else
                    "not in notifications.telegram.allowed_user_ids")
            return Verdict(None, f"ignored {command!r} from user {sender} in chat {chat}: {hint}",
                           level=logging.WARNING)
        if update.message is None:
            return Verdict(None, f"ignored the edited message {command!r}: a command is acted on "
                                 "once, when it is sent",
                           answer=f"Edited messages are not acted on: send {command} again as "
                                  "a new message if you want it." if command.startswith("/")
                           else "")
        if not command.startswith("/"):
            if message.chat.type != "private":  # people talking in a group: not for the bot
                return Verdict(None, "not a command", level=logging.DEBUG)
            return Verdict(text)  # the router answers with a hint
        name = addressee(command)
        if name is not None and name.lower() != self.username.lower():
            return Verdict(None, f"ignored {command!r}: addressed to another bot, not "
                                 f"@{self.username}")
        return Verdict(text)

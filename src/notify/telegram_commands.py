"""Telegram commands: long-polls getUpdates on the I/O loop and obeys the owner's commands.

Who may command the bot is ``telegram_access``'s rule (the configured chat, allowed senders,
commands addressed to this bot, never an edited message). Order comes from Telegram, never from
the host's clock, whose error against Telegram's message dates can be hours:

- at start (``sync``) the bot asks getMe for its own username, then reads what Telegram still
  holds: every update there was sent before this run could take commands, so none is obeyed. The
  owner's commands among them are listed in one reply ("send them again"), except those a
  previous run already obeyed (the ``CommandMemory`` remembers the last update id it took, so a
  run killed before it confirmed its last updates does not list them as missed). On a first run,
  with nothing remembered, every pending command is listed. Pending updates are confirmed to
  Telegram, so they are never delivered again;
- from then on, an update is new when Telegram hands it out after the confirmed offset.

Each command runs in a worker thread (it may read the store) and is remembered before it acts,
so no restart acts on it twice. Its reply goes through the channel's worker (rate limit; queued
notifications first), and an action (``/stop``) waits a moment for its reply to go out first.
A command that fails gets a reply saying so; if the polling itself stops on an unexpected error
(or its task is cancelled by anyone but ``stop``), it is logged, the chat is told, and polling
restarts with a backoff. Polling failures (Telegram unreachable) back off like a channel's sends.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

from telegram import Update
from telegram.error import TelegramError

from notify.channel import ChannelError
from notify.commands import CommandRouter, Reply
from notify.telegram import POLL_SECONDS, TelegramChannel
from notify.telegram_access import Access, first_word
from trading.core.redaction import redact

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
ALLOWED_UPDATES = ["message", "edited_message"]  # edits only to tell the owner they do nothing
PAGE = 100  # getUpdates' largest batch
SYNC_PAGES = 10  # pending updates read at start; more than that are forgotten unread
REPLY_WAIT = 5.0  # how long an action (/stop) waits for its reply to go out first
SKIPPED_SHOWN = 10


class CommandMemory(Protocol):
    """Which updates earlier runs took (``trading.runtime.command_memory.StoredCommands``)."""

    def last_update_id(self) -> int | None:
        """The highest update id remembered, or None on a first run."""

    def record(self, update_id: int, text: str, outcome: str) -> None:
        """Remember one command: ``obeyed`` or ``skipped``."""


class Replies(Protocol):
    """Where replies go (``notify.worker.ChannelWorker.reply``)."""

    def reply(self, text: str) -> asyncio.Future: ...


class NoMemory:
    """A memory that forgets: every command pending at start is listed as skipped."""

    def last_update_id(self) -> int | None:
        return None

    def record(self, update_id: int, text: str, outcome: str) -> None:
        pass


def skipped_note(commands: list[str]) -> str:
    shown = ", ".join(commands[:SKIPPED_SHOWN])
    more = f" and {len(commands) - SKIPPED_SHOWN} more" if len(commands) > SKIPPED_SHOWN else ""
    return (f"Skipped {len(commands)} command{'s' if len(commands) != 1 else ''} sent before "
            f"this run could take commands (the bot was not running or could not reach "
            f"Telegram): {shown}{more}. Send again what you still want.")


class TelegramCommands:
    """The command loop of one bot's Telegram chat."""

    def __init__(self, channel: TelegramChannel, router: CommandRouter, replies: Replies,
                 memory: CommandMemory | None = None, *, poll_seconds: float = POLL_SECONDS,
                 restart_backoff: float = 1.0) -> None:
        self.channel = channel
        self.router = router
        self.replies = replies
        self.memory = memory if memory is not None else NoMemory()
        self.poll_seconds = poll_seconds
        self.restart_backoff = restart_backoff
        self.access: Access | None = None
        self.synced = threading.Event()  # set once the start-up sync is done (any thread waits)
        self.handled = 0
        self.restarts = 0
        self._offset: int | None = None
        self._failures = 0
        self._restarts_in_row = 0
        self._task: asyncio.Task | None = None
        self.poller: asyncio.Task | None = None

    # -- the loop and its supervisor -------------------------------------------------------------
    async def run(self) -> None:
        """Take commands until ``stop`` (or cancellation); polling restarts whenever it ends."""
        self._task = asyncio.current_task()
        assert self._task is not None
        while True:
            self.poller = asyncio.create_task(self._poll_forever(), name="telegram commands poll")
            try:
                await self.poller
                problem = "it ended"
            except asyncio.CancelledError:
                if self._task.cancelling():  # this loop is being stopped
                    self.poller.cancel()
                    raise
                problem = "its task was cancelled"
            except Exception as exc:  # anything a handler or the client let through
                problem = self._safe(f"{type(exc).__name__}: {exc}")
                log.error("telegram commands: polling stopped on an unexpected error",
                          exc_info=exc)
            await self._restart(problem)

    async def _restart(self, problem: str) -> None:
        self.restarts += 1
        self._restarts_in_row += 1
        delay = min(self.restart_backoff * 2 ** (self._restarts_in_row - 1), MAX_BACKOFF)
        log.error("telegram commands: polling stopped (%s); restarting it in %gs (restart %d)",
                  problem, delay, self.restarts)
        if self._restarts_in_row == 1:  # once per run of failures, not once per backoff
            self.replies.reply(f"Command polling stopped ({problem[:200]}) and restarts now. A "
                               "command being handled then may not have been carried out: "
                               "check with /status and send it again if needed.")
        await asyncio.sleep(delay)

    async def _poll_forever(self) -> None:
        while self.access is None:
            try:
                await self.sync()
            except TelegramError as exc:
                await self._back_off(self.channel.error(exc))
        while True:
            try:
                updates = await self.channel.bot.get_updates(
                    offset=self._offset, timeout=self.poll_seconds, allowed_updates=ALLOWED_UPDATES)
            except TelegramError as exc:
                await self._back_off(self.channel.error(exc))
                continue
            if self._failures:
                log.info("telegram commands: polling works again")
                self._failures = 0
            self._restarts_in_row = 0
            for update in updates:
                self._offset = update.update_id + 1
                await self._handle(update)

    async def _back_off(self, error: ChannelError) -> None:
        self._failures += 1
        delay = error.retry_after or min(2.0 ** (self._failures - 1), MAX_BACKOFF)
        log.warning("telegram commands: polling failed (%s); next try in %gs", error, delay)
        await asyncio.sleep(delay)

    # -- start-up: who am I, and what was sent before this run ----------------------------------
    async def sync(self) -> None:
        """Learn this bot's username and skip (and list) what Telegram holds from before this run.

        Raises ``TelegramError`` when Telegram cannot be reached; the poller retries it."""
        bot = self.channel.bot
        me = await bot.get_me()
        settings = self.channel.settings
        access = Access(settings.chat_id, me.username or "", settings.allowed_user_ids)
        last = await asyncio.to_thread(self.memory.last_update_id)
        offset, skipped = self._offset, []
        for _ in range(SYNC_PAGES):
            updates = await bot.get_updates(offset=offset, timeout=0, limit=PAGE,
                                            allowed_updates=ALLOWED_UPDATES)
            for update in updates:
                offset = update.update_id + 1
                text = access.judge(update).text
                # an update id at or below the remembered one was taken by an earlier run (ids
                # grow; after a week without updates Telegram may restart them lower, and then a
                # missed command is skipped without being listed: still never obeyed)
                if text is not None and (last is None or update.update_id > last):
                    skipped.append((update.update_id, text))
            if len(updates) < PAGE:
                break
        else:
            newest = await bot.get_updates(offset=-1, timeout=0, allowed_updates=ALLOWED_UPDATES)
            offset = newest[-1].update_id + 1 if newest else offset
            log.warning("telegram commands: more than %d updates were waiting at start; the "
                        "rest were skipped unread", SYNC_PAGES * PAGE)
        for update_id, text in skipped:
            log.info("telegram: skipped %r (update %d): sent before this run could take commands",
                     first_word(text), update_id)
            await asyncio.to_thread(self.memory.record, update_id, text, "skipped")
        self._offset = offset
        self.access = access
        self.synced.set()
        if access.group_without_list:
            log.warning("telegram: chat %s is a group and notifications.telegram.allowed_user_ids "
                        "is empty: its commands are ignored until it lists who may send them",
                        access.chat_id)
        if skipped:
            self.replies.reply(skipped_note([first_word(text) for _, text in skipped]))

    # -- one update ------------------------------------------------------------------------------
    async def _handle(self, update: Update) -> None:
        assert self.access is not None
        verdict = self.access.judge(update)
        if verdict.text is None:
            log.log(verdict.level, "telegram: %s", verdict.reason)
            if verdict.answer:
                self.replies.reply(verdict.answer)
            return
        text, command = verdict.text, first_word(verdict.text)
        log.info("telegram: %s", text[:80])
        await asyncio.to_thread(self.memory.record, update.update_id, text, "obeyed")
        try:
            reply = await asyncio.to_thread(self.router.handle, text)
        except Exception as exc:  # a command's failure must never end the loop
            log.error("telegram: %s failed", command, exc_info=exc)
            reply = Reply(self._failed(command, exc))
        sent = self.replies.reply(reply.text)
        self.handled += 1
        if reply.then is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(sent), REPLY_WAIT)
        except asyncio.TimeoutError:
            log.info("telegram: %s acts before its reply went out (the rate limit holds it)",
                     command)
        try:
            reply.then()
        except Exception as exc:
            log.error("telegram: %s failed", command, exc_info=exc)
            self.replies.reply(self._failed(command, exc))

    def _failed(self, command: str, exc: Exception) -> str:
        return (f"{command} failed: {self._safe(f'{type(exc).__name__}: {exc}')[:300]}. The "
                "bot goes on; the log has the details.")

    def _safe(self, text: str) -> str:
        return redact(text, [self.channel.settings.token])

    async def stop(self) -> None:
        """Stop polling and confirm the updates handled, so Telegram does not send them again."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._offset is not None:
            try:
                await asyncio.wait_for(self.channel.bot.get_updates(
                    offset=self._offset, timeout=0, limit=1), 2.0)
            except (TelegramError, asyncio.TimeoutError) as exc:
                log.debug("telegram: could not confirm the last update: %s", exc)

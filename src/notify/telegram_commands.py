"""Telegram commands: long-polls getUpdates on the I/O loop and answers the owner's chat only.

Only messages from ``TELEGRAM_CHAT_ID`` are commands; any other chat is logged and never
answered. Messages sent before this run started are logged and skipped (a ``/stop`` typed while
the bot was down must not stop the next run). Each command runs in a worker thread (it may read
the store) and its reply goes out before its action (``/stop``). Polling failures back off like a
channel's sends (logged once per backoff); at shutdown the last update is confirmed to Telegram so
it is not delivered again.
"""
from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.error import TelegramError

from notify.channel import ChannelError
from notify.commands import CommandRouter
from notify.telegram import POLL_SECONDS, TelegramChannel

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class TelegramCommands:
    """The command loop of one bot's Telegram chat."""

    def __init__(self, channel: TelegramChannel, router: CommandRouter,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.channel = channel
        self.router = router
        self.poll_seconds = poll_seconds
        self.chat_id = channel.settings.chat_id
        self.started_at = time.time()
        self.handled = 0
        self._offset: int | None = None
        self._failures = 0
        self._task: asyncio.Task | None = None

    async def run(self) -> None:
        """Poll and answer until ``stop`` (or cancellation)."""
        self._task = asyncio.current_task()
        while True:
            try:
                updates = await self.channel.bot.get_updates(
                    offset=self._offset, timeout=self.poll_seconds, allowed_updates=["message"])
            except TelegramError as exc:
                await self._back_off(self.channel.error(exc))
                continue
            if self._failures:
                log.info("telegram commands: polling works again")
                self._failures = 0
            for update in updates:
                self._offset = update.update_id + 1
                await self._handle(update)

    async def _back_off(self, error: ChannelError) -> None:
        self._failures += 1
        delay = error.retry_after or min(2.0 ** (self._failures - 1), MAX_BACKOFF)
        log.warning("telegram commands: polling failed (%s); next try in %gs", error, delay)
        await asyncio.sleep(delay)

    async def _handle(self, update: Update) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        chat = str(message.chat.id)
        command = message.text.split()[0][:40] if message.text.strip() else ""
        if chat != self.chat_id:
            log.warning("telegram: ignored %r from chat %s: only TELEGRAM_CHAT_ID may command "
                        "this bot", command, chat)
            return
        if message.date.timestamp() < self.started_at - 1:
            log.info("telegram: skipped %r sent at %s, before this run started", command,
                     message.date.isoformat())
            return
        log.info("telegram: %s", message.text[:80])
        reply = await asyncio.to_thread(self.router.handle, message.text)
        try:
            await self.channel.send_text(reply.text)
        except ChannelError as exc:
            log.warning("telegram: could not answer %r: %s", command, exc)
        self.handled += 1
        if reply.then is not None:
            reply.then()

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

"""The ``telegram`` channel: messages through python-telegram-bot's ``Bot`` (Bot API over HTTPS).

``TELEGRAM_API_URL`` (default https://api.telegram.org) points it at another Bot API server, a
self-hosted one or a test fake: requests go to ``<api_url>/bot<token>/<method>``. Messages are
plain text (no markup to escape). Flood control (HTTP 429) becomes a ``ChannelError`` carrying
Telegram's ``retry_after``, which the worker waits out. The token is in every request URL, so
error texts are redacted before anyone logs them.
"""
from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from notify.channel import ChannelError, ChannelLimits
from notify.messages import Message
from notify.settings import TelegramSettings
from trading.core.redaction import redact

MAX_TEXT = 4096  # Telegram's limit for one message
POLL_SECONDS = 20  # long polling: how long one getUpdates may wait for a command


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (an int or a timedelta, depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """Sends to ``settings.chat_id``; ``bot`` is shared with the command poller."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings, limits: ChannelLimits) -> None:
        self.settings = settings
        self.limits = limits
        timeout = limits.timeout_seconds
        self._request = HTTPXRequest(connection_pool_size=4, read_timeout=timeout,
                                     write_timeout=timeout, connect_timeout=timeout,
                                     pool_timeout=timeout)
        # a long poll waits POLL_SECONDS for an answer by design: its own connection and timeout
        self._poll_request = HTTPXRequest(connection_pool_size=1,
                                          read_timeout=POLL_SECONDS + timeout,
                                          connect_timeout=timeout, pool_timeout=timeout)
        self.bot = Bot(settings.token, base_url=f"{settings.api_url}/bot", request=self._request,
                       get_updates_request=self._poll_request)

    def error(self, exc: BaseException) -> ChannelError:
        """``exc`` as a ChannelError that is safe to log."""
        if isinstance(exc, RetryAfter):
            seconds = retry_after_seconds(exc)
            return ChannelError(f"flood control, retry after {seconds:g}s", retry_after=seconds)
        if isinstance(exc, TimedOut):
            return ChannelError("timed out")
        return ChannelError(redact(f"{type(exc).__name__}: {exc}", [self.settings.token]))

    async def send_text(self, text: str) -> None:
        """Send ``text`` to the configured chat (raises ``ChannelError``)."""
        try:
            await self.bot.send_message(chat_id=self.settings.chat_id, text=text[:MAX_TEXT])
        except TelegramError as exc:
            raise self.error(exc) from None

    async def send(self, message: Message) -> None:
        await self.send_text(message.text)

    async def close(self) -> None:
        await self._request.shutdown()
        await self._poll_request.shutdown()

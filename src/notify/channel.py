"""The one shape every channel has, and the failure it reports.

A channel (``telegram``, ``email``, ``webhook``) is built from its resolved settings and sends one
``Message`` per ``send`` call, raising ``ChannelError`` when the message did not get through
(``retry_after``: the server said how long to wait). Timeouts, retries, backoff and the rate limit
are the ``ChannelWorker``'s job, the same for every channel.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from notify.messages import Message


class ChannelError(Exception):
    """A message did not get through; the text is safe to log (secrets redacted with
    ``trading.core.redaction.redact``)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChannelLimits:
    """How one channel may be used: which events, how long a send may take, how often."""

    notify_on: tuple[str, ...]
    timeout_seconds: float = 10.0
    rate_limit_per_minute: float = 20.0


class Channel(Protocol):
    """What the notifier needs of a channel."""

    name: str
    limits: ChannelLimits

    async def send(self, message: Message) -> None:
        """Deliver one message or raise ``ChannelError``."""

    async def close(self) -> None:
        """Release connections (called once, at shutdown)."""


class TokenBucket:
    """The rate limit: a burst of ``per_minute`` sends, then one every ``60 / per_minute`` s.

    ``reserve()`` takes one send's token and returns how long to wait before sending it.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError(f"a rate limit needs per_minute > 0, got {per_minute!r}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def reserve(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        return max(0.0, -self._tokens / self.rate)

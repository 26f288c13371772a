"""One channel's sender on the I/O loop: its own bounded outbox, rate limit, timeout and retries.

Each channel has its own worker, so a slow or dead channel delays nobody else. A send that fails
(an error, no answer within the channel's timeout, a 429/5xx) is logged once and retried after a
backoff: the server's ``retry_after`` when it gave one, else 1, 2, 4 ... seconds up to
``MAX_BACKOFF`` (the backoff grows while the channel keeps failing, across messages). After
``MAX_ATTEMPTS`` a message is given up; the first success after failures is logged too.
"""
from __future__ import annotations

import asyncio
import logging

from notify.channel import Channel, ChannelError, TokenBucket
from notify.messages import Message
from notify.outbox import Outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BASE_BACKOFF = 1.0
MAX_BACKOFF = 300.0
OUTBOX_SIZE = 500
DROP_LOG_EVERY = 100  # a channel that cannot keep up logs its first drop, then every 100th


class ChannelWorker:
    """Sends the messages of one channel, in order, never more than one at a time."""

    def __init__(self, channel: Channel, *, outbox_size: int = OUTBOX_SIZE,
                 base_backoff: float = BASE_BACKOFF, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.channel = channel
        self.name = channel.name
        self.outbox: Outbox[Message] = Outbox(outbox_size)
        self.bucket = TokenBucket(channel.limits.rate_limit_per_minute)
        self.base_backoff = base_backoff
        self.max_attempts = max_attempts
        self.failures = 0  # consecutive failed attempts (drives the backoff)
        self.sent = 0
        self.given_up = 0
        self._busy = False
        self._wake: asyncio.Event | None = None

    def wants(self, kind: str) -> bool:
        return kind in self.channel.limits.notify_on

    def offer(self, message: Message) -> None:
        """Queue ``message`` (on the loop); a full outbox drops its least important oldest one."""
        dropped = self.outbox.put(message, message.priority)
        if dropped is not None and self.outbox.dropped % DROP_LOG_EVERY == 1:
            log.warning("%s: outbox full (%d messages), dropped the oldest %s message: %s (%d "
                        "dropped so far; logged every %d)", self.name, self.outbox.maxsize,
                        dropped.kind, dropped.title, self.outbox.dropped, DROP_LOG_EVERY)
        if self._wake is not None:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Messages queued or being sent."""
        return len(self.outbox) + (1 if self._busy else 0)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent."""
        return not self._busy and len(self.outbox) == 0

    async def run(self) -> None:
        """Send queued messages until cancelled."""
        self._wake = asyncio.Event()
        while True:
            message = self.outbox.get()
            if message is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._busy = True
            try:
                await self._deliver(message)
            finally:
                self._busy = False

    async def _deliver(self, message: Message) -> None:
        timeout = self.channel.limits.timeout_seconds
        for attempt in range(1, self.max_attempts + 1):
            wait = self.bucket.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await asyncio.wait_for(self.channel.send(message), timeout)
            except asyncio.TimeoutError:
                problem, retry_after = f"no answer within {timeout:g}s", None
            except ChannelError as exc:
                problem, retry_after = str(exc), exc.retry_after
            else:
                if self.failures:
                    log.info("%s: sending works again (after %d failed attempt%s)", self.name,
                             self.failures, "" if self.failures == 1 else "s")
                self.failures = 0
                self.sent += 1
                return
            self.failures += 1
            delay = retry_after if retry_after is not None else min(
                self.base_backoff * 2 ** (self.failures - 1), MAX_BACKOFF)
            last = attempt == self.max_attempts
            log.warning("%s: could not send %s (%s); %s in %gs", self.name, message.kind, problem,
                        "giving it up, next message" if last else f"attempt {attempt + 1} of "
                        f"{self.max_attempts}", delay)
            await asyncio.sleep(delay)  # the backoff also holds the next message back
        self.given_up += 1

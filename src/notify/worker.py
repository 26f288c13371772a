"""One channel's sender on the I/O loop: its own bounded outbox, rate limit, timeout and retries.

Each channel has its own worker, so a slow or dead channel delays nobody else. A send that fails
(an error, no answer within the channel's timeout, a 429/5xx) is logged once and retried after a
backoff: the server's ``retry_after`` when it gave one, else 1, 2, 4 ... seconds up to
``MAX_BACKOFF`` (the backoff grows while the channel keeps failing, across messages). After
``MAX_ATTEMPTS`` a message is given up; the first success after failures is logged too.

Replies to chat commands (``reply``) share the channel's rate limit, timeout and retries but wait
in a lane of their own: a queued notification (a trade first of all) always goes before a queued
reply, and a flood of commands fills at most ``REPLY_QUEUE`` places (the oldest reply is dropped).
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
REPLY_QUEUE = 30  # replies waiting to be sent; a flood of commands cannot grow it


def reply_message(text: str) -> Message:
    """A reply to a chat command, as a message any channel can send."""
    return Message(kind="reply", title=text, body="", payload={"text": text})


class ChannelWorker:
    """Sends the messages of one channel, in order, never more than one at a time."""

    def __init__(self, channel: Channel, *, outbox_size: int = OUTBOX_SIZE,
                 base_backoff: float = BASE_BACKOFF, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.channel = channel
        self.name = channel.name
        self.outbox: Outbox[Message] = Outbox(outbox_size)
        self.replies: Outbox[tuple[Message, asyncio.Future]] = Outbox(REPLY_QUEUE)
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

    def reply(self, text: str) -> asyncio.Future:
        """Queue a reply to a command (on the loop); the future turns True once it is sent, False
        when it was given up or dropped. Notifications queued meanwhile go first."""
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        dropped = self.replies.put((reply_message(text), done), 0)
        if dropped is not None:
            _settle(dropped[1], False)
            if self.replies.dropped % DROP_LOG_EVERY == 1:
                log.warning("%s: more replies than the rate limit lets out (%g a minute): dropped "
                            "the oldest waiting reply (%d dropped so far; logged every %d)",
                            self.name, self.channel.limits.rate_limit_per_minute,
                            self.replies.dropped, DROP_LOG_EVERY)
        if self._wake is not None:
            self._wake.set()
        return done

    @property
    def pending(self) -> int:
        """Messages and replies queued or being sent."""
        return len(self.outbox) + len(self.replies) + (1 if self._busy else 0)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent."""
        return not self._busy and len(self.outbox) == 0 and len(self.replies) == 0

    def _next(self) -> tuple[Message, asyncio.Future | None] | None:
        message = self.outbox.get()
        if message is not None:
            return message, None
        return self.replies.get()

    async def run(self) -> None:
        """Send queued messages until cancelled."""
        self._wake = asyncio.Event()
        while True:
            if len(self.outbox) == 0 and len(self.replies) == 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._busy = True
            done: asyncio.Future | None = None
            sent = False
            try:
                wait = self.bucket.reserve()
                if wait > 0:  # the rate limit's wait comes before the choice: a trade queued
                    await asyncio.sleep(wait)  # meanwhile goes before a reply queued earlier
                item = self._next()
                if item is None:  # only this loop takes items: never empty here
                    continue
                message, done = item
                sent = await self._deliver(message)
            finally:
                self._busy = False
                if done is not None:
                    _settle(done, sent)

    async def _deliver(self, message: Message) -> bool:
        """Send ``message`` with retries; its first attempt's rate-limit token is already taken."""
        timeout = self.channel.limits.timeout_seconds
        for attempt in range(1, self.max_attempts + 1):
            wait = self.bucket.reserve() if attempt > 1 else 0.0
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
                return True
            self.failures += 1
            delay = retry_after if retry_after is not None else min(
                self.base_backoff * 2 ** (self.failures - 1), MAX_BACKOFF)
            last = attempt == self.max_attempts
            log.warning("%s: could not send %s (%s); %s in %gs", self.name, message.kind, problem,
                        "giving it up, next message" if last else f"attempt {attempt + 1} of "
                        f"{self.max_attempts}", delay)
            await asyncio.sleep(delay)  # the backoff also holds the next message back
        self.given_up += 1
        return False


def _settle(done: asyncio.Future, sent: bool) -> None:
    if not done.done():
        done.set_result(sent)

"""The notifier: takes events from any thread and fans them out to channels on the I/O loop.

``publish(event)`` is what the bot calls after each bar's commit, on the Cerebro thread: it puts
the event in a bounded inbox and wakes the loop, and never waits. On the loop, a dispatcher formats
each event once (``messages.format_event``), logs the kinds nobody logged where they happened,
and hands the message to the worker of every channel whose ``notify_on`` lists its kind.
``drain(seconds)`` at shutdown sends what is still queued, for at most that long.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Sequence

from notify.channel import Channel
from notify.messages import PRIORITIES, PRIORITY_NORMAL, format_event
from notify.outbox import Outbox
from notify.worker import BASE_BACKOFF, ChannelWorker
from trading.core.events import Event

log = logging.getLogger(__name__)

INBOX_SIZE = 1000
DRAIN_SECONDS = 5.0
# kinds whose producer already logs them (ENTRY/EXIT lines, kill switch, errors): logged once
LOGGED_AT_SOURCE = ("trade_entry", "trade_exit", "kill_switch", "error")


class Notifier:
    """Channels fed from one inbox; ``start`` on the I/O loop, ``publish`` from anywhere."""

    def __init__(self, channels: Sequence[Channel], *, bot_id: str, symbol: str,
                 symbols: Sequence[str] = (), inbox_size: int = INBOX_SIZE,
                 base_backoff: float = BASE_BACKOFF) -> None:
        self.bot_id = bot_id
        self.symbol = symbol
        self.symbols = tuple(symbols) or (symbol,)  # a basket's titles name it, not its first
        self.workers = [ChannelWorker(channel, base_backoff=base_backoff) for channel in channels]
        self.inbox: Outbox[Event] = Outbox(inbox_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._closed = False

    @property
    def channel_names(self) -> list[str]:
        return [w.name for w in self.workers]

    def worker(self, name: str) -> ChannelWorker | None:
        """The worker of channel ``name`` (replies to commands go through its rate limit)."""
        return next((w for w in self.workers if w.name == name), None)

    # -- any thread ------------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Queue ``event`` for the log and every channel that wants it; never blocks."""
        if event.kind in LOGGED_AT_SOURCE and not any(w.wants(event.kind) for w in self.workers):
            return  # nothing would log or send it: no need to wake the I/O loop mid-bar
        loop = self._loop
        if loop is None or self._closed:  # not running: the log still gets it
            self._log(event)
            return
        dropped = self.inbox.put(event, PRIORITIES.get(event.kind, PRIORITY_NORMAL))
        if dropped is not None:
            log.warning("notification inbox full: dropped a %s event", dropped.kind)
        try:
            loop.call_soon_threadsafe(self._wake_up)
        except RuntimeError:  # the loop closed meanwhile
            pass

    # -- on the I/O loop -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the dispatcher and one worker per channel on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(w.run(), name=f"notify {w.name}") for w in self.workers]
        self._tasks.append(asyncio.create_task(self._dispatch_forever(), name="notify dispatch"))

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _dispatch_forever(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._dispatch()

    def _dispatch(self) -> None:
        while (event := self.inbox.get()) is not None:
            wanted = [w for w in self.workers if w.wants(event.kind)]
            message = format_event(event, self.bot_id, self.symbol, self.symbols)
            if event.kind not in LOGGED_AT_SOURCE:
                log.info("%s", message.text.replace("\n", " | "))
            for worker in wanted:
                worker.offer(message)

    def _log(self, event: Event) -> None:
        if event.kind not in LOGGED_AT_SOURCE:
            message = format_event(event, self.bot_id, self.symbol, self.symbols)
            log.info("%s", message.text.replace("\n", " | "))

    async def drain(self, seconds: float = DRAIN_SECONDS) -> bool:
        """Send what is queued for at most ``seconds``, then stop every worker and close the
        channels. True when everything queued was sent (or given up after its retries)."""
        self._dispatch()
        deadline = time.monotonic() + seconds
        while not all(w.idle for w in self.workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            self._dispatch()
        self._closed = True
        done = all(w.idle for w in self.workers)
        for worker in self.workers:
            if not worker.idle:
                log.warning("%s: %d message(s) not sent at shutdown (stopped waiting after %gs)",
                            worker.name, worker.pending, seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.channel.close(), 2.0)
            except Exception as exc:  # closing is best effort: the process is ending
                log.debug("%s: close failed: %s", worker.name, exc)
        return done

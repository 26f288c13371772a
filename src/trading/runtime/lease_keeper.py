"""Keeping the bot's lease while it runs, and giving the bot up before its lease can run out.

A bot may trade only while it can prove that it holds its lease: its last successful renewal is
less than the lease's ttl ago, so no other instance can have taken the lease over. The keeper
renews the lease every ``period`` seconds in a thread of its own, so a database that is slow or
locked holds up neither the I/O loop (bars, orders, notifications) nor the heartbeat and the WAL
fold in the I/O thread's worker. Then:

- a renewal that fails, or has not answered within ``LATE_SECONDS``, holds new entries at once
  (exits and protective orders go on) and is tried again sooner;
- a renewal that succeeds again lets entries go on;
- once ``GIVE_UP_FRACTION`` of the ttl has passed since the last successful renewal, the keeper
  gives the bot up: it stops (exit 3) while the lease is still its own, so an instance that takes
  the lease over after the ttl never trades alongside it;
- a lease another process took over (``LeaseLost``) stops the bot at once.

On the way out the lease is released, waiting only while it is surely still ours; a bot that has
given up and is still not out ``EXIT_FRACTION`` of the ttl after its last renewal is ended by
``LeaseCallbacks.overdue`` (the CLI exits the process with code 3).

Times are this process's monotonic clock, counted from the start of the last renewal that
succeeded: the database wrote that renewal's expiry no earlier, so the lease is ours for at least
the ttl from then.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from trading.core.errors import LeaseLost, TradingBotError
from trading.persistence.lease import BotLease
from trading.persistence.repository import LeaseInfo
from trading.runtime.io_thread import BlockingWorker

log = logging.getLogger(__name__)

GIVE_UP_FRACTION = 2 / 3  # of the ttl after the last good renewal; the rest is for shutting down
LATE_SECONDS = 1.0  # a renewal without an answer this long holds entries until it succeeds
RETRIES_PER_TTL = 10  # a failed renewal is tried again after ttl / this (or the period if sooner)
CLOSE_SECONDS = 5.0  # how long release() waits for a renewal still in hand, and for the row
EXIT_FRACTION = 0.9  # of the ttl after the last good renewal: a bot that gave up is out by then


@dataclass(frozen=True)
class LeaseCallbacks:
    """What the keeper tells the bot (called on the I/O thread's loop).

    ``hold(reason)``: no new entries; ``release()``: entries may go on again; ``give_up(message)``:
    stop now, the lease can no longer be proven; ``lost(message)``: another process has the lease;
    ``overdue(message)`` (from a timer thread): the bot gave up but is still not out, end it now.
    """

    hold: Callable[[str], None]
    release: Callable[[], None]
    give_up: Callable[[str], None]
    lost: Callable[[str], None]
    overdue: Callable[[str], None] | None = None


class LeaseKeeper:
    """Renews ``lease`` every ``period`` seconds off the I/O loop and acts on what it finds.

    ``acquire()`` takes the lease (in the calling thread); ``run()`` is the coroutine that keeps
    it, on the I/O thread's loop; ``release()`` gives it up on the way out; ``finish()`` ends
    the watch for an overdue exit.
    """

    def __init__(self, lease: BotLease, period: float, callbacks: LeaseCallbacks, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not period > 0:
            raise ValueError(f"a lease keeper needs a positive period, not {period!r}")
        self.lease = lease
        self.period = period
        self.callbacks = callbacks
        self.clock = clock
        self.ttl = lease.ttl.total_seconds()
        self.retry = min(period, self.ttl / RETRIES_PER_TTL)
        self._proven = clock()  # start of the last renewal (or acquire) that succeeded
        self._held = False
        self._failure = "no renewal succeeded"
        self._gave_up = False
        self._worker: BlockingWorker | None = None
        self._overdue: threading.Timer | None = None

    @property
    def held(self) -> bool:
        """Whether entries are held now (the last renewal failed or is late)."""
        return self._held

    @property
    def deadline(self) -> float:
        """When the keeper gives the bot up if no renewal succeeds before (monotonic clock)."""
        return self._proven + self.ttl * GIVE_UP_FRACTION

    def acquire(self) -> LeaseInfo:
        """Take the lease (``LeaseHeld`` while another process holds it)."""
        started = self.clock()
        info = self.lease.acquire()
        self._proven = started
        return info

    async def run(self) -> None:
        """Renew until cancelled, the lease is lost, or the keeper gives up."""
        worker = self._worker = BlockingWorker(name=f"lease-{self.lease.bot_id}")
        try:
            due = self._proven + self.period
            while True:
                await asyncio.sleep(max(0.0, min(due, self.deadline) - self.clock()))
                if self.clock() >= self.deadline:
                    self._give_up(self._failure)
                    return
                due = await self._renew_once(worker)
                if due is None:
                    return
        finally:
            worker.shutdown(wait=False, cancel_futures=True)

    def release(self) -> None:
        """Give the lease up on the way out (after ``run`` ended), waiting for the database only
        while the lease is surely still ours; raises ``StoreError`` when the release fails."""
        # after giving up, a renewal in hand is not waited for (it waits for the database that
        # failed): the release queues behind it in the database, and fails as it does
        wait = 0.0 if self._gave_up else min(CLOSE_SECONDS, self._safe_left() / 2)
        if self._worker is not None and not self._worker.shutdown(wait=True, timeout=wait):
            log.warning("a renewal of the lease of bot %s is still waiting for the database",
                        self.lease.bot_id)
        left = self._safe_left()
        if left <= 0:
            log.warning("the lease of bot %s is left to expire on its own (no time to release "
                        "it while it is surely ours)", self.lease.bot_id)
            return
        self.lease.release(wait_seconds=min(left / 2, CLOSE_SECONDS))

    def finish(self) -> None:
        """The bot is out: no overdue exit any more."""
        if self._overdue is not None:
            self._overdue.cancel()

    def _safe_left(self) -> float:
        """Seconds until the time a bot that gave up must be out by."""
        return self._proven + self.ttl * EXIT_FRACTION - self.clock()

    async def _renew_once(self, worker: BlockingWorker) -> float | None:
        """One renewal; returns when the next one is due, or None when the keeper is done."""
        started = self.clock()
        renewal = asyncio.wrap_future(worker.submit(self.lease.renew))
        done, _ = await asyncio.wait({renewal}, timeout=min(LATE_SECONDS, self._left()))
        if not done:
            self._hold(f"renewing it has not answered for {LATE_SECONDS:g} s")
            done, _ = await asyncio.wait({renewal}, timeout=self._left())
        if not done:
            self._give_up(f"the last renewal has not answered for "
                          f"{self.clock() - started:.1f} s")
            return None
        error = renewal.exception()
        if isinstance(error, LeaseLost):
            self.callbacks.lost(str(error))
            return None
        if error is not None:  # StoreError (a timeout, a lost connection) or a bug: not proven
            self._failure = f"the last renewal failed: {error}"
            if self._held:
                log.warning("renewing the lease of bot %s failed again: %s", self.lease.bot_id,
                            error)
            else:
                self._hold(f"renewing it failed: {error}")
            if not isinstance(error, TradingBotError):  # a bug: its traceback helps
                log.error("the lease renewal's error", exc_info=error)
            return self.clock() + self.retry
        self._proven = started
        if self._held:
            self._held = False
            log.warning("the lease of bot %s is renewed again: entries go on",
                        self.lease.bot_id)
            self.callbacks.release()
        return started + self.period

    def _left(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def _hold(self, why: str) -> None:
        if self._held:
            return
        self._held = True
        reason = (f"the lease of bot {self.lease.bot_id} is not proven ({why}): no new entries "
                  f"until it is renewed; the bot stops in {self._left():.1f} s if it is not")
        log.error("%s", reason)
        self.callbacks.hold(reason)

    def _give_up(self, why: str) -> None:
        since = self.clock() - self._proven
        message = (f"its lease could not be renewed for {since:.1f} s ({why}) and expires "
                   f"{self.ttl:g} s after the last renewal, when another instance may take "
                   f"the bot over: stopped before that. Check the database "
                   f"{self.lease.store.url}, then start the bot again")
        log.error("bot %s: %s", self.lease.bot_id, message)
        self._gave_up = True
        overdue = self.callbacks.overdue
        if overdue is not None:
            self._overdue = threading.Timer(max(0.0, self._safe_left()), overdue, (message,))
            self._overdue.daemon = True
            self._overdue.start()
        self.callbacks.give_up(message)

"""LeaseKeeper: a bot that cannot renew its lease holds its entries at once and gives up before
the lease can expire; a renewal that hangs never holds up the I/O loop.

The lease is a hand-written stub whose renewals follow a script (succeed, fail, hang until the
test lets go); the keeper runs on a real IOThread. The tests wait for what the keeper reports
(threading events), bounded; only the test that shows a call never comes waits out its time. The
ttls are seconds long so that a loaded machine starting the keeper late does not change the
story a test tells."""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from datetime import timedelta

import pytest

from trading.core.errors import LeaseLost, StoreError
from trading.runtime import lease_keeper
from trading.runtime.io_thread import IOThread
from trading.runtime.lease_keeper import GIVE_UP_FRACTION, LeaseCallbacks, LeaseKeeper

WAIT = 30.0  # bound of every wait: far longer than any deadline here


class Store:
    url = "postgresql+psycopg://bot@db.example/trading"


class ScriptedLease:
    """A lease whose renewals do what the test queues: "ok", "fail", "lost" or "hang" (until
    ``let_go``); once the script is used up, every renewal succeeds."""

    def __init__(self, ttl: float, *script: str) -> None:
        self.bot_id = "0001"
        self.ttl = timedelta(seconds=ttl)
        self.store = Store()
        self.script: queue.SimpleQueue[str] = queue.SimpleQueue()
        for step in script:
            self.script.put(step)
        self.renewals = 0
        self.hanging = threading.Event()
        self._let_go = threading.Event()

    def acquire(self) -> None:
        return None

    def renew(self) -> None:
        self.renewals += 1
        try:
            step = self.script.get_nowait()
        except queue.Empty:
            return
        if step == "fail":
            raise StoreError("renewing the lease of bot 0001 failed: canceling statement due to "
                             "lock timeout")
        if step == "lost":
            raise LeaseLost("bot 0001: this process lost its lease: host beta took it")
        if step == "hang":
            self.hanging.set()
            self._let_go.wait(WAIT)

    def let_go(self) -> None:
        self._let_go.set()


class Recorder:
    """The bot's side: what the keeper told it, and when (the keeper's clock)."""

    def __init__(self) -> None:
        self.held, self.released, self.gave_up, self.lost, self.overdue = (
            threading.Event() for _ in range(5))
        self.messages: list[str] = []
        self.times: dict[str, float] = {}

    def callbacks(self) -> LeaseCallbacks:
        return LeaseCallbacks(hold=self._on("held"), release=lambda: self._on("released")(""),
                              give_up=self._on("gave_up"), lost=self._on("lost"),
                              overdue=self._on("overdue"))

    def _on(self, name: str):
        def record(message: str) -> None:
            self.times[name] = time.monotonic()
            self.messages.append(message)
            getattr(self, name).set()
        return record


@pytest.fixture
def io():
    with IOThread(name="test-lease-io") as thread:
        yield thread


@pytest.fixture(autouse=True)
def quick_late(monkeypatch):
    monkeypatch.setattr(lease_keeper, "LATE_SECONDS", 0.05)


def keep(io: IOThread, lease: ScriptedLease, period: float = 0.02):
    recorder = Recorder()
    keeper = LeaseKeeper(lease, period, recorder.callbacks())
    keeper.acquire()
    proven = time.monotonic()  # no later than the keeper's own start of the lease
    task = io.submit(keeper.run(), name="lease")
    return keeper, recorder, task, proven


def test_a_hanging_renewal_holds_entries_and_gives_up_before_the_lease_expires(io):
    ttl = 3.0
    lease = ScriptedLease(ttl, "ok", "hang")
    keeper, bot, task, _ = keep(io, lease)
    try:
        assert lease.hanging.wait(WAIT)
        assert bot.held.wait(WAIT)
        # the loop goes on serving bars, orders and heartbeats meanwhile
        assert io.submit(asyncio.sleep(0, result="served")).result(WAIT) == "served"
        assert not bot.gave_up.is_set()
        assert bot.gave_up.wait(WAIT)
        task.result(WAIT)  # the keeper is done
        last_good = keeper._proven
        assert bot.times["gave_up"] - last_good < ttl, "gave up after the lease had expired"
        assert bot.times["gave_up"] - last_good >= ttl * GIVE_UP_FRACTION
        assert not bot.lost.is_set() and not bot.released.is_set()
    finally:
        lease.let_go()
        keeper.finish()
    assert "not proven (renewing it has not answered" in bot.messages[0]
    assert "no new entries" in bot.messages[0]
    assert "could not be renewed" in bot.messages[-1]
    assert "has not answered" in bot.messages[-1]
    assert Store.url in bot.messages[-1] and "start the bot again" in bot.messages[-1]


def test_renewals_that_keep_failing_give_up_before_the_lease_expires(io):
    ttl = 3.0
    lease = ScriptedLease(ttl, *(["fail"] * 1000))
    keeper, bot, task, proven = keep(io, lease)
    assert bot.held.wait(WAIT) and bot.gave_up.wait(WAIT)
    task.result(WAIT)
    assert bot.times["gave_up"] - proven < ttl
    assert lease.renewals > 1, "a failed renewal is tried again before giving up"
    assert "canceling statement due to lock timeout" in bot.messages[-1]


def test_a_renewal_that_succeeds_again_lets_entries_go_on(io):
    lease = ScriptedLease(60, "fail", "fail")
    keeper, bot, task, _ = keep(io, lease)
    try:
        assert bot.held.wait(WAIT) and bot.released.wait(WAIT)
        assert not bot.gave_up.is_set() and not task.done()
    finally:
        task.cancel()
        keeper.finish()


def test_a_lease_taken_over_stops_the_bot_at_once(io):
    lease = ScriptedLease(60, "lost")
    keeper, bot, task, _ = keep(io, lease)
    assert bot.lost.wait(WAIT)
    task.result(WAIT)
    assert "host beta took it" in bot.messages[-1]
    assert not bot.gave_up.is_set() and not bot.held.is_set()
    keeper.finish()


def test_a_bot_that_gave_up_and_is_not_out_in_time_is_ended_before_the_lease_expires(io):
    """The shutdown after giving up hangs (say on a dead database): the overdue callback, which
    the CLI turns into exit 3, comes while the lease is still the bot's."""
    ttl = 3.0
    lease = ScriptedLease(ttl, *(["fail"] * 1000))
    keeper, bot, task, proven = keep(io, lease)
    assert bot.gave_up.wait(WAIT) and bot.overdue.wait(WAIT)
    assert bot.times["gave_up"] <= bot.times["overdue"] < proven + ttl
    assert bot.messages[-1] == bot.messages[-2]  # the same reason as the give-up


def test_a_bot_that_is_out_in_time_is_not_ended(io):
    lease = ScriptedLease(1.2, *(["fail"] * 1000))
    keeper, bot, task, _ = keep(io, lease)
    assert bot.gave_up.wait(WAIT)
    keeper.finish()  # the bot is out
    assert not bot.overdue.wait(1.2)

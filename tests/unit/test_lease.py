"""One bot, one writer: the bot lease on SQLite and PostgreSQL (``db_url`` runs each on both).

Time passes for a lease when a test moves its clock on (``MovedClock``), never by sleeping against
its ttl: a loaded machine cannot make a lease expire early or late."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import logging
import textwrap
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine

from trading.core.errors import LeaseHeld, LeaseLost, StoreError
from trading.core.timeutil import iso_z, utcnow
from trading.persistence import database, tables
from trading.persistence.lease import BotLease, database_now
from trading.persistence.repository import Store

BOT = "0001"
HERE = socket.gethostname()


class MovedClock:
    """A lease's own clock (``database_now``: the database server's on PostgreSQL, so that path
    is what runs) moved on by the time a test says has passed."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.moved = timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.moved += timedelta(seconds=seconds)

    def __call__(self, conn) -> datetime:
        return database_now(conn) + self.moved


@pytest.fixture
def store(db_url):
    opened = Store(db_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped) on this host."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_instance_is_refused_and_told_who_holds_the_lease(store):
    first = BotLease(store, BOT, 30, host="alpha", pid=4242)
    held = first.acquire()
    with pytest.raises(LeaseHeld) as refused:
        BotLease(store, BOT, 30, host="beta", pid=os.getpid()).acquire()
    message = str(refused.value)
    assert f"bot {BOT} is already running" in message
    assert "host alpha, pid 4242" in message and f"until {iso_z(held.expires_at)}" in message
    assert "Stop that instance" in message and "wait until its lease expires" in message
    assert store.lease_holder(BOT) == held  # the refused one changed nothing


def test_a_free_lease_is_also_refused_to_a_clashing_insert_on_other_databases(store, monkeypatch):
    # the portable path (INSERT in a savepoint, the clash caught) for dialects without ON CONFLICT
    monkeypatch.setattr(tables, "NATIVE_UPSERT", {})
    BotLease(store, BOT, 30, host="alpha", pid=4242).acquire()
    with pytest.raises(LeaseHeld, match="host alpha, pid 4242"):
        BotLease(store, BOT, 30, host="beta", pid=1).acquire()
    assert BotLease(store, "0002", 30, host="beta", pid=1).acquire().host == "beta"


def test_the_holder_is_readable_with_aware_utc_times(store):
    assert store.lease_holder(BOT) is None
    before = utcnow()
    lease = BotLease(store, BOT, 30, host="alpha", pid=4242)
    lease.acquire()
    info = store.lease_holder(BOT)
    assert (info.bot_id, info.host, info.pid) == (BOT, "alpha", 4242)
    assert info.taken_at.utcoffset() == timedelta(0) and info.expires_at.tzinfo is not None
    assert info.taken_at == info.renewed_at
    assert info.expires_at - info.taken_at == timedelta(seconds=30)
    assert abs(info.taken_at - before) < timedelta(seconds=5)  # the database's clock on PostgreSQL
    assert lease.held


def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it_on_renewal(store, caplog):
    clock = MovedClock()
    old = BotLease(store, BOT, 30, host=HERE, pid=os.getpid(), clock=clock)  # alive, not renewing
    held = old.acquire()
    with pytest.raises(LeaseHeld):
        BotLease(store, BOT, 30, host="beta", pid=7, clock=clock).acquire()
    clock.advance(31)  # its 30 s are over
    new = BotLease(store, BOT, 30, host="beta", pid=7, clock=clock)
    with caplog.at_level(logging.WARNING, logger="trading.persistence.lease"):
        new.acquire()
    assert (store.lease_holder(BOT).host, store.lease_holder(BOT).pid) == ("beta", 7)
    assert (f"took over the lease of bot {BOT} from host {HERE}, pid {os.getpid()}: its lease "
            f"expired at {iso_z(held.expires_at)}") in caplog.text
    with pytest.raises(LeaseLost) as lost:
        old.renew()
    assert "host beta, pid 7 took it" in str(lost.value) and "stop this one" in str(lost.value)
    assert not old.held
    old.release()  # nothing to release: the new holder keeps its lease
    assert store.lease_holder(BOT).host == "beta"


def test_a_lease_whose_process_died_on_this_host_is_taken_over_at_once(store, dead_pid):
    BotLease(store, BOT, 600, host=HERE, pid=dead_pid).acquire()  # e.g. a bot killed with -9
    successor = BotLease(store, BOT, 600)
    info = successor.acquire()
    assert (info.host, info.pid) == (HERE, os.getpid())
    assert store.lease_holder(BOT) == info


def test_a_lease_held_on_another_host_is_not_taken_over_before_it_expires(store, dead_pid):
    # the same pid is dead here, but it is another machine's process: only expiry frees it
    BotLease(store, BOT, 600, host="elsewhere", pid=dead_pid).acquire()
    with pytest.raises(LeaseHeld, match=f"host elsewhere, pid {dead_pid}"):
        BotLease(store, BOT, 600).acquire()


def test_a_live_process_on_this_host_keeps_its_lease(store):
    BotLease(store, BOT, 600, host=HERE, pid=os.getppid()).acquire()
    with pytest.raises(LeaseHeld, match=f"pid {os.getppid()}"):
        BotLease(store, BOT, 600).acquire()


def test_renewing_moves_the_expiry_and_keeps_the_holder(store):
    clock = MovedClock()
    lease = BotLease(store, BOT, 30, host="alpha", pid=1, clock=clock)
    first = lease.acquire()
    clock.advance(20)
    renewed = lease.renew()
    assert renewed.expires_at >= first.expires_at + timedelta(seconds=20)
    assert renewed.taken_at == first.taken_at and store.lease_holder(BOT) == renewed
    clock.advance(20)  # past the first expiry, within the renewed one
    with pytest.raises(LeaseHeld, match="host alpha, pid 1"):
        BotLease(store, BOT, 30, host="beta", pid=2, clock=clock).acquire()


def test_a_late_renewal_keeps_a_lease_nobody_took_and_says_so(store, caplog):
    clock = MovedClock()
    lease = BotLease(store, BOT, 30, host="alpha", pid=1, clock=clock)
    first = lease.acquire()
    clock.advance(45)  # it expired 15 s ago, but nobody took it meanwhile
    with caplog.at_level(logging.WARNING, logger="trading.persistence.lease"):
        renewed = lease.renew()
    assert lease.held and store.lease_holder(BOT) == renewed
    assert f"the lease of bot {BOT} had expired at {iso_z(first.expires_at)}" in caplog.text
    assert "this process keeps it" in caplog.text


def test_renewing_a_lease_that_was_removed_raises_lease_lost(store, db_url):
    lease = BotLease(store, BOT, 30, host="alpha", pid=1)
    lease.acquire()
    with store._transaction("test") as conn:  # what an operator's reset would do
        conn.execute(tables.leases.delete())
    with pytest.raises(LeaseLost, match="nobody holds it now"):
        lease.renew()
    with pytest.raises(LeaseLost, match="holds no lease to renew"):
        lease.renew()


def test_release_lets_another_process_take_the_lease_and_is_idempotent(store):
    first = BotLease(store, BOT, 600, host="alpha", pid=1)
    with first:
        assert store.lease_holder(BOT).host == "alpha"
    assert store.lease_holder(BOT) is None and not first.held
    second = BotLease(store, BOT, 600, host="beta", pid=2)
    second.acquire()
    first.release()  # again: must not touch the new holder's row
    assert store.lease_holder(BOT).host == "beta"
    assert BotLease(store, "0002", 600, host="alpha", pid=1).acquire().bot_id == "0002"


def test_a_ttl_must_be_positive(store):
    with pytest.raises(ValueError, match="positive ttl_seconds"):
        BotLease(store, BOT, 0)


RACER = textwrap.dedent("""
    import sys
    from trading.core.errors import LeaseHeld
    from trading.persistence.lease import BotLease, database_now
    from trading.persistence.repository import Store

    store = Store(sys.argv[1])
    held = []  # the leases this process won stay held until the parent says exit
    print("ready", flush=True)
    for line in sys.stdin:
        bot_id = line.strip()
        if bot_id == "exit":
            break
        lease = BotLease(store, bot_id, float(sys.argv[2]))
        try:
            lease.acquire()
            held.append(lease)
            print(bot_id, "won", flush=True)
        except LeaseHeld as refused:
            print(bot_id, "held", str(refused).replace("\\n", " "), flush=True)
""")


def test_processes_racing_for_a_lease_never_both_win(db_url):
    """Five processes are released at once on each bot id: one free lease (the INSERT race),
    then one expired lease (the conditional UPDATE race); each time exactly one may win."""
    setup = Store(db_url)  # the schema exists before the race: this test is about the lease
    racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url, "600"], text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(5)]
    try:
        assert [r.stdout.readline().strip() for r in racers] == ["ready"] * 5
        winners: dict[str, int] = {}
        for round_ in range(16):
            bot_id = f"race{round_}"
            expired = round_ % 2 == 1
            if expired:  # a lease of another host that ran out a minute ago: only expiry frees it
                BotLease(setup, bot_id, 30, host="gone-host", pid=1, clock=MovedClock(-90)).acquire()
            for racer in racers:  # as close together as pipes allow
                racer.stdin.write(bot_id + "\n")
                racer.stdin.flush()
            results = [r.stdout.readline().strip().split(" ", 2) for r in racers]
            won = [r.pid for r, (_bot, outcome, *_) in zip(racers, results, strict=True) if outcome == "won"]
            assert len(won) == 1, (bot_id, results)
            holder = setup.lease_holder(bot_id)
            assert (holder.host, holder.pid) == (HERE, won[0])
            refusals = [rest[0] for (_bot, outcome, *rest) in results if outcome == "held"]
            assert len(refusals) == 4 and all(f"pid {won[0]}" in m for m in refusals)
            winners[bot_id] = won[0]
        for racer in racers:
            racer.stdin.write("exit\n")
            racer.stdin.flush()
    finally:
        for racer in racers:
            racer.stdin.close()  # end of input ends a racer that was not told to exit
            try:
                racer.wait(timeout=30)
            finally:
                racer.kill()
                racer.stdout.close()
        setup.close()
    assert len(winners) == 16


def _renew_in_thread(lease: BotLease) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``lease.renew()`` in a thread; the list gets what it raised."""
    raised: list[BaseException] = []

    def renew() -> None:
        try:
            lease.renew()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=renew, daemon=True)
    thread.start()
    return thread, raised


def test_a_renewal_waiting_for_a_locked_lease_row_fails_instead_of_waiting_for_ever(db_url,
                                                                                  monkeypatch):
    """Another connection holds the lease row (PostgreSQL: SELECT ... FOR UPDATE) or the whole
    database (SQLite: its write lock) in an open transaction: the renewal gives up with a
    StoreError the bot can act on, while the lock is still held."""
    monkeypatch.setattr(database, "PG_LOCK_TIMEOUT_MS", 300)
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.3)
    store = Store(db_url)
    lease = BotLease(store, BOT, 600, host="alpha", pid=1)
    lease.acquire()
    locker = create_engine(db_url, connect_args={"timeout": 5} if db_url.startswith("sqlite")
                           else {})
    conn = locker.connect()
    try:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("SELECT * FROM leases WHERE bot_id = %s FOR UPDATE", (BOT,))
        thread, raised = _renew_in_thread(lease)
        thread.join(60)  # bounded: without a lock timeout the renewal waits for the lock's end
        still_waiting = thread.is_alive()
    finally:
        conn.rollback()
        conn.close()
        locker.dispose()
    thread.join(60)
    store.close()
    assert not still_waiting, "the renewal waited for the lock until it was released"
    assert len(raised) == 1 and isinstance(raised[0], StoreError), raised
    assert "renewing the lease of bot 0001" in str(raised[0])
    assert "lock" in str(raised[0]).lower()


def test_postgresql_sessions_run_with_a_lock_and_statement_timeout(pg_url):
    store = Store(pg_url)
    try:
        with store._transaction("test") as conn:
            lock = conn.exec_driver_sql("SHOW lock_timeout").scalar()
            statement = conn.exec_driver_sql("SHOW statement_timeout").scalar()
    finally:
        store.close()
    assert (lock, statement) == ("5s", "30s")


def test_a_urls_own_postgresql_options_win_over_the_default_timeouts(pg_url):
    store = Store(pg_url + "?options=-c%20statement_timeout%3D0")
    try:
        with store._transaction("test") as conn:
            statement = conn.exec_driver_sql("SHOW statement_timeout").scalar()
            lock = conn.exec_driver_sql("SHOW lock_timeout").scalar()
    finally:
        store.close()
    assert (statement, lock) == ("0", "5s")

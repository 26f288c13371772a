"""One bot, one writer: an exclusive, expiring lease on a bot id, kept in the bot's database.

Two processes running the same bot would both trade and both write its state. Before it restores
a bot, the runtime takes the bot's lease; it renews it well within ``ttl_seconds`` (a third of it
is a good rhythm) and releases it when it stops. A second process is refused with ``LeaseHeld``,
which names the holder.

Every step is one conditional statement in its own transaction, so processes racing for a lease
can never both win, on SQLite (one writer at a time) and PostgreSQL (row locks) alike:

- taking a free lease is an INSERT of the bot id, the primary key: one insert wins;
- taking over is an UPDATE conditioned on the token and expiry that were read, so it fails if
  anyone renewed or took the lease in between. A lease is taken over once it has expired, or at
  once when its holder ran on this host and its process no longer exists (killed, crashed);
- renewing and releasing touch only the row that carries this process's random token.

Times come from the database server's clock on PostgreSQL (hosts sharing it may disagree about
the time) and from this host's clock on SQLite (a file only this host's processes open): that is
``database_now``, every lease's clock unless another is given (tests move it on to make a lease
expire without waiting for it).
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from trading.core.errors import LeaseHeld, LeaseLost
from trading.core.timeutil import iso_z, utcnow
from trading.persistence import tables as m
from trading.persistence.repository import LEASE_FIELDS, LeaseInfo, Store

log = logging.getLogger(__name__)

ATTEMPTS = 5  # a lease that changes hands this often while we look is reported as held

LeaseClock = Callable[[Connection], datetime]  # the time now, read inside a lease's transaction


class BotLease:
    """The right of this process to run bot ``bot_id``, for ``ttl_seconds`` after each renewal.

    ``host`` and ``pid`` identify the holder to people and to the dead-process check; they
    default to this machine's host name and this process. ``clock`` tells the time the lease is
    written in and judged expired by (default ``database_now``). Usable as a context manager
    (acquire on enter, release on exit).
    """

    def __init__(self, store: Store, bot_id: str, ttl_seconds: float, *, host: str | None = None,
                 pid: int | None = None, clock: LeaseClock | None = None) -> None:
        if not ttl_seconds > 0:
            raise ValueError(f"a lease needs a positive ttl_seconds, not {ttl_seconds!r}")
        self.store = store
        self.bot_id = bot_id
        self.ttl = timedelta(seconds=ttl_seconds)
        self.host = host if host is not None else socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self.clock: LeaseClock = clock if clock is not None else database_now
        self._token: str | None = None
        self._info: LeaseInfo | None = None  # the lease as this process last wrote it

    @property
    def held(self) -> bool:
        """Whether this object took the lease and has not released or lost it since."""
        return self._info is not None

    def __enter__(self) -> BotLease:
        self.acquire()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.release()

    def acquire(self) -> LeaseInfo:
        """Take the bot's lease: a free one, an expired one, or one whose process has died on
        this host. Raises ``LeaseHeld`` while another live process holds it."""
        if self._info is not None:
            return self.renew()
        token = secrets.token_hex(16)
        holder: LeaseInfo | None = None
        for _ in range(ATTEMPTS):
            with self.store._transaction(f"taking the lease of bot {self.bot_id}") as conn:
                mine = self._row(token, self.clock(conn))
                if _insert_if_absent(conn, mine):
                    return self._took(token, mine, None)
            with self.store._transaction(f"reading the lease of bot {self.bot_id}") as conn:
                now = self.clock(conn)
                found = conn.execute(select(m.leases.c.token, *_lease_columns())
                                     .where(m.leases.c.bot_id == self.bot_id)).first()
            if found is None:
                continue  # released while we looked: insert again
            their_token, holder = found.token, _lease_info(found)
            why = self._takeover_reason(holder, now)
            if why is None:
                raise LeaseHeld(self._held_message(holder), self._holder(holder))
            with self.store._transaction(f"taking over the lease of bot {self.bot_id}") as conn:
                mine = self._row(token, self.clock(conn))
                taken = conn.execute(
                    update(m.leases).where(m.leases.c.bot_id == self.bot_id,
                                           m.leases.c.token == their_token,
                                           m.leases.c.expires_at == holder.expires_at)
                    .values(**mine)).rowcount == 1
            if taken:
                return self._took(token, mine, (holder, why))
            # someone renewed or took it in between: look again
        if holder is not None:
            raise LeaseHeld(self._held_message(holder), self._holder(holder))
        changing = (f"the lease of bot {self.bot_id} in {self.store.url} kept changing hands "
                    f"over {ATTEMPTS} attempts: another instance is starting")
        raise LeaseHeld(f"{changing} too; stop it and start this one again", changing)

    def renew(self) -> LeaseInfo:
        """Push the expiry ``ttl_seconds`` past now. Raises ``LeaseLost`` when this process no
        longer holds the lease (another took it over after it expired, or it was removed)."""
        if self._info is None:
            raise LeaseLost(f"bot {self.bot_id}: this process holds no lease to renew; "
                            "call acquire() first")
        # one UPDATE, no read first: on SQLite a read-then-write transaction cannot wait for
        # the write lock that the bot's own checkpoints take
        with self.store._transaction(f"renewing the lease of bot {self.bot_id}") as conn:
            now = self.clock(conn)
            renewed = conn.execute(
                update(m.leases).where(m.leases.c.bot_id == self.bot_id,
                                       m.leases.c.token == self._token)
                .values(renewed_at=now, expires_at=now + self.ttl)).rowcount == 1
        if not renewed:
            self._token = self._info = None
            raise LeaseLost(self._lost_message(self.store.lease_holder(self.bot_id)))
        if self._info.expired(now):
            log.warning("the lease of bot %s had expired at %s (renewed %.1f s late); nobody took "
                        "it meanwhile, so this process keeps it", self.bot_id,
                        iso_z(self._info.expires_at), (now - self._info.expires_at).total_seconds())
        self._info = replace(self._info, renewed_at=now, expires_at=now + self.ttl)
        return self._info

    def release(self, wait_seconds: float | None = None) -> None:
        """Give the lease up (only our own: a lease another process took over stays theirs).
        Does nothing when this process holds none. ``wait_seconds``: on PostgreSQL, wait at most
        this long for a lock on the row (default: the connection's lock timeout)."""
        if self._info is None:
            return
        with self.store._transaction(f"releasing the lease of bot {self.bot_id}") as conn:
            if wait_seconds is not None and conn.dialect.name == "postgresql":
                wait_ms = max(1, int(wait_seconds * 1000))  # 0 would mean no bound at all
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {wait_ms}")
            conn.execute(delete(m.leases).where(m.leases.c.bot_id == self.bot_id,
                                                m.leases.c.token == self._token))
        self._token = self._info = None
        log.info("released the lease of bot %s", self.bot_id)

    # -- helpers ---------------------------------------------------------------------------------
    def _row(self, token: str, now: datetime) -> dict[str, Any]:
        return {"bot_id": self.bot_id, "host": self.host, "pid": self.pid, "token": token,
                "taken_at": now, "renewed_at": now, "expires_at": now + self.ttl}

    def _took(self, token: str, row: dict[str, Any],
              previous: tuple[LeaseInfo, str] | None) -> LeaseInfo:
        self._token = token
        self._info = LeaseInfo(**{name: row[name] for name in LEASE_FIELDS})
        if previous is None:
            log.info("took the lease of bot %s until %s", self.bot_id, iso_z(row["expires_at"]))
        else:
            holder, why = previous
            log.warning("took over the lease of bot %s from host %s, pid %s: %s", self.bot_id,
                        holder.host, holder.pid, why)
        return self._info

    def _takeover_reason(self, holder: LeaseInfo, now: datetime) -> str | None:
        """Why the lease may be taken from ``holder`` now, or None when it may not."""
        if holder.expired(now):
            return f"its lease expired at {iso_z(holder.expires_at)}"
        if holder.host == self.host and process_gone(holder.pid):
            return f"process {holder.pid} no longer exists on this host"
        return None

    def _holder(self, holder: LeaseInfo) -> str:
        return (f"host {holder.host}, pid {holder.pid} holds its lease in {self.store.url} "
                f"(taken {iso_z(holder.taken_at)}, renewed {iso_z(holder.renewed_at)}) until "
                f"{iso_z(holder.expires_at)}")

    def _held_message(self, holder: LeaseInfo) -> str:
        return (f"bot {self.bot_id} is already running: {self._holder(holder)}. Stop that "
                f"instance (process {holder.pid} on {holder.host}), or, if it is gone, wait "
                f"until its lease expires at {iso_z(holder.expires_at)} and start this one again")

    def _lost_message(self, holder: LeaseInfo | None) -> str:
        now_held = ("nobody holds it now (it was released or removed)" if holder is None else
                    f"host {holder.host}, pid {holder.pid} took it at {iso_z(holder.taken_at)}")
        return (f"bot {self.bot_id}: this process (host {self.host}, pid {self.pid}) lost its "
                f"lease in {self.store.url}: {now_held}. Another instance may be writing this "
                "bot's state: stop this one; renew the lease more often than its ttl_seconds")


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` exists on this host (one we may not signal still exists)."""
    if pid <= 0:  # 0 and negatives address process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def database_now(conn: Connection) -> datetime:
    """The time now for a lease, read in its transaction: the database server's clock on
    PostgreSQL (every host sharing the database agrees on it), this host's clock on SQLite."""
    if conn.dialect.name == "postgresql":
        return conn.scalar(select(func.clock_timestamp())).astimezone(timezone.utc)
    return utcnow()


def _lease_columns() -> list[Any]:
    return [m.leases.c[name] for name in LEASE_FIELDS]


def _lease_info(row: Any) -> LeaseInfo:
    return LeaseInfo(**{name: row._mapping[name] for name in LEASE_FIELDS})


def _insert_if_absent(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert the lease row unless the bot id has one already; True when it was inserted."""
    make_insert = m.NATIVE_UPSERT.get(conn.dialect.name)
    if make_insert is not None:
        stmt = (make_insert(m.leases).on_conflict_do_nothing(index_elements=["bot_id"])
                .execution_options(preserve_rowcount=True))  # an INSERT's count is not kept else
        return conn.execute(stmt, row).rowcount == 1
    try:
        with conn.begin_nested():  # a clash rolls back to here, not the whole transaction
            conn.execute(insert(m.leases), row)
    except IntegrityError:
        return False
    return True

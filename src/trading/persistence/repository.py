"""The store: what a live bot must find again after a restart, in any SQLAlchemy database.

The live bot calls ``Store.checkpoint`` once per closed bar, after the strategy has processed it:
one transaction holds everything that bar changed (orders, closed trades, the open positions, one
per symbol, with their exit mixins' state, the broker's holdings, risk state, cash and equity).
A process killed mid-bar therefore leaves the state as of the previous bar's end;
``load_snapshot`` returns it, and the bot warms up on history up to ``last_bar_ts`` and continues
with the next bar as if it had never stopped.

SQLite (the default) and PostgreSQL are tested. The checkpoint uses prepared Core statements, no
ORM unit of work; on SQLite they run straight on the driver's cursor (``prepared``). Opening a store migrates the database to the newest schema (``migrate``).
The database keeps times as UTC timestamps; the bot's epoch seconds are converted here, once, on
the way in and out.
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import SQLAlchemyError

from trading.core.errors import StoreError
from trading.core.events import TRADE_FIELDS, Event, OrderEvent, TradeClosed
from trading.core.timeutil import epoch_seconds, utc_datetime, utcnow
from trading.core.types import OpenTrade
from trading.persistence import tables as m
from trading.persistence.archive import archive_rows, archived_id
from trading.persistence.books import ORDER_FIELDS, BooksWriter
from trading.persistence.database import (check_integrity, damaged, database_full, is_full,
                                          looks_damaged, open_engine, reason)
from trading.persistence.migrate import migrate
from trading.persistence.snapshot import BotSnapshot, restored_snapshot
from trading.persistence.tables import Upsert
from trading.persistence.wal import FoldPacer, fold_wal

log = logging.getLogger(__name__)

PENDING_STATUSES = ("submitted", "accepted", "partial")  # an order the venue may still fill


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds (or last held) a bot's lease: see ``trading.persistence.lease``.

    Times are aware UTC datetimes; on PostgreSQL they come from the database server's clock.
    """

    bot_id: str
    host: str
    pid: int
    taken_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def expired(self, at: datetime) -> bool:
        """Whether the lease has run out at ``at`` (its holder stopped renewing it)."""
        return self.expires_at <= at


LEASE_FIELDS = tuple(f.name for f in fields(LeaseInfo))  # the leases columns people may see


class Store:
    """Repository of bots, orders, trades, positions, holdings, equity, risk state and events;
    the bot leases are taken with ``trading.persistence.lease.BotLease`` and read here."""

    def __init__(self, url: str, *, background_wal: bool = False, create: bool = True) -> None:
        """Open (and migrate) the database at ``url``: any SQLAlchemy URL; ``postgres://`` and a
        PostgreSQL URL without a driver use psycopg 3.

        ``background_wal``: SQLite only. The writing connection never folds its write-ahead log
        into the database itself (that fsync can take ~100 ms, stalling a live bar); the owner
        calls ``flush_wal()`` from a background thread instead, on a timer and whenever
        ``on_commits`` asks (``trading.persistence.wal``: a fast run cannot outgrow the timer).
        ``create=False``: a missing SQLite file raises ``NoDatabase`` rather than becoming a new
        empty database.
        """
        self._engine, self._url = open_engine(url, background_wal=background_wal, create=create)
        try:
            check_integrity(self._engine, self._url)
            migrate(self._engine, self._url)
        except StoreError:
            self._engine.dispose()
            raise
        self._prepare(self._engine.dialect.name)
        self._kept: tuple[int, Connection] | None = None  # (thread id, its per-bar connection)
        self._kept_lock = threading.Lock()
        self._folds = FoldPacer(active=background_wal and self._engine.dialect.name == "sqlite")

    def _prepare(self, dialect: str) -> None:
        """Build every write statement once; the checkpoint then only binds values."""
        self._register_bot = Upsert(dialect, m.bots, ("bot_id",),
                                    ("config_path", "description", "started_at", "updated_at"))
        self._ensure_bot = Upsert(dialect, m.bots, ("bot_id",))
        self._bar_done = Upsert(dialect, m.bots, ("bot_id",),
                                ("last_bar_ts", "cash", "value", "updated_at"))
        self._books_changed = Upsert(dialect, m.bots, ("bot_id",), ("cash", "value", "updated_at"))
        self._books = BooksWriter(dialect)
        self._save_equity = Upsert(dialect, m.equity, ("bot_id", "ts"), ("equity", "cash"))
        self._add_event = insert(m.events)

    @property
    def url(self) -> str:
        """The database URL with any password masked (safe to log)."""
        return self._url

    def close(self) -> None:
        """Close every connection to the database (a lease held through this store stays)."""
        self._drop_kept()
        self._engine.dispose()

    def flush_wal(self) -> None:
        """Fold SQLite's write-ahead log into the database (``database.fold_wal``); nothing to
        do on a server."""
        if self._engine.dialect.name != "sqlite":
            return
        with self._failing_as("folding the write-ahead log"):
            fold_wal(self._engine, self._folds.writing)
        self._folds.folded()

    @property
    def on_commits(self) -> Callable[[], None] | None:
        """Called (on the committing thread) when the write-ahead log wants folding soon."""
        return self._folds.on_commits

    @on_commits.setter
    def on_commits(self, ask: Callable[[], None] | None) -> None:
        self._folds.on_commits = ask

    @contextmanager
    def _failing_as(self, what: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, UnicodeDecodeError) as exc:
            if is_full(exc):
                raise database_full(self._url, what, exc) from exc
            if looks_damaged(exc):  # bytes on disk that are no longer what was written
                raise damaged(self._url, f"{what} failed: {reason(exc)[:200]}") from exc
            raise StoreError(f"{what} in {self._url} failed: {reason(exc)}") from exc

    @contextmanager
    def _bar_transaction(self) -> Iterator[Connection]:
        """A transaction for the per-bar writes (checkpoint, fills between bars).

        The thread that writes the first one (the Cerebro thread) keeps its connection for
        them: a pool checkout and return around every bar cost about a fifth of a checkpoint.
        Other threads write through the pool. A failed transaction drops the kept connection,
        so the next one starts on a fresh connection, as a pooled one would.
        """
        me = threading.get_ident()
        kept = self._kept
        if kept is None:
            with self._kept_lock:
                if self._kept is None:
                    self._kept = (me, self._engine.connect())
                kept = self._kept
        owner, conn = kept
        with self._folds.writing:  # one per-bar transaction at a time, so _books knows its own
            try:
                if owner != me:
                    with self._engine.begin() as pooled:
                        yield pooled
                else:
                    try:
                        with conn.begin():
                            yield conn
                    except BaseException:
                        self._drop_kept()
                        raise
            except BaseException:
                self._books.rolled_back()
                raise
            self._books.committed()
        self._folds.committed()

    def _drop_kept(self) -> None:
        with self._kept_lock:
            kept, self._kept = self._kept, None
        if kept is not None:
            try:
                kept[1].close()
            except SQLAlchemyError as exc:  # already broken: nothing more to release
                log.debug("closing the per-bar connection failed: %s", exc)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Connection]:
        """One transaction for this package's other modules (the lease); errors as StoreError."""
        with self._failing_as(what), self._engine.begin() as conn:
            yield conn

    # -- writes ----------------------------------------------------------------------------------
    def register_bot(self, bot_id: str, config_path: str | None, description: str) -> None:
        """Record that ``bot_id`` starts now (its first registration time is kept)."""
        now = utcnow()
        row = {"bot_id": bot_id, "config_path": config_path, "description": description,
               "created_at": now, "started_at": now, "updated_at": now}
        with self._failing_as(f"registering bot {bot_id}"), self._engine.begin() as conn:
            self._register_bot(conn, [row])

    def checkpoint(self, bot_id: str, *, bar_ts: float, cash: float, value: float,
                   orders: Sequence[OrderEvent], trades: Sequence[TradeClosed],
                   positions: Mapping[str, OpenTrade], risk_state: dict, save_equity: bool,
                   exit_mixins: str = "",
                   holdings: Mapping[str, tuple[float, float]] | None = None) -> None:
        """Save, in one transaction, everything bar ``bar_ts`` changed: all of it or none of it.

        ``orders`` are the order events since the last checkpoint (one row per client order id
        keeps the latest status and fill); ``trades`` the trades closed since then (a trade saved
        twice is stored once); ``positions`` every open trade of the bot by symbol (a stored
        position of any other symbol is closed: its row goes); ``holdings`` the broker's whole
        position per symbol, (size, average price), a venue's dust included: a symbol not in it
        holds nothing; None when not kept, which leaves the stored holdings as they are.
        """
        now, bar_time = utcnow(), utc_datetime(bar_ts)
        bot_row = {"bot_id": bot_id, "description": "", "created_at": now, "updated_at": now,
                   "last_bar_ts": bar_time, "cash": cash, "value": value}
        with self._failing_as(f"checkpoint of bot {bot_id} at bar {bar_ts}"), \
                self._bar_transaction() as conn:
            self._bar_done(conn, [bot_row])  # first: the bots row the others refer to
            self._books.save(conn, bot_id, now, orders=orders, trades=trades, positions=positions,
                             risk_state=risk_state, exit_mixins=exit_mixins, holdings=holdings)
            if save_equity:
                self._save_equity(conn, [{"bot_id": bot_id, "ts": bar_time, "equity": value,
                                          "cash": cash}])

    def save_between_bars(self, bot_id: str, *, cash: float, value: float,
                          orders: Sequence[OrderEvent], trades: Sequence[TradeClosed],
                          positions: Mapping[str, OpenTrade], risk_state: dict,
                          exit_mixins: str = "",
                          holdings: Mapping[str, tuple[float, float]] | None = None) -> None:
        """Save, in one transaction, what a venue report between two bars changed (a fill, the
        orders it caused, a closed trade); the last checkpointed bar stays what it was.
        ``positions`` and ``holdings`` as for ``checkpoint``."""
        now = utcnow()
        bot_row = {"bot_id": bot_id, "description": "", "created_at": now, "updated_at": now,
                   "cash": cash, "value": value}
        with self._failing_as(f"saving the fills of bot {bot_id} between bars"), \
                self._bar_transaction() as conn:
            self._books_changed(conn, [bot_row])
            self._books.save(conn, bot_id, now, orders=orders, trades=trades, positions=positions,
                             risk_state=risk_state, exit_mixins=exit_mixins, holdings=holdings)

    def record_event(self, bot_id: str, event: Event) -> None:
        """Append an event (at its own time, or now when it has none) with its full payload."""
        at = getattr(event, "time", None)
        row = {"bot_id": bot_id, "kind": event.kind, "payload": json.dumps(event.to_dict()),
               "time": at if isinstance(at, datetime) else utcnow()}
        with self._failing_as(f"recording a {event.kind} event of bot {bot_id}"), \
                self._engine.begin() as conn:
            self._ensure(conn, bot_id)
            conn.execute(self._add_event, row)

    def save_risk_state(self, bot_id: str, state: dict) -> None:
        """Replace the bot's risk state (e.g. a kill switch reset from the CLI)."""
        with self._failing_as(f"saving the risk state of bot {bot_id}"), self._engine.begin() as conn:
            self._ensure(conn, bot_id)
            self._books.save_risk_state(conn, bot_id, state, utcnow())

    def archive_bot(self, bot_id: str) -> tuple[str, int]:
        """Move every row of ``bot_id`` to an archived id (``0001@20261126T141900Z``) so the bot
        starts over; returns that id and how many rows moved (0: the bot had none)."""
        new_id = archived_id(bot_id)
        with self._failing_as(f"archiving bot {bot_id}"), self._engine.begin() as conn:
            moved = archive_rows(conn, bot_id, new_id)
        with self._folds.writing:
            self._books.forget(bot_id)
        return new_id, moved

    def _ensure(self, conn: Connection, bot_id: str) -> None:
        now = utcnow()
        self._ensure_bot(conn, [{"bot_id": bot_id, "description": "", "created_at": now,
                                 "updated_at": now}])

    # -- reads -----------------------------------------------------------------------------------
    def load_snapshot(self, bot_id: str) -> BotSnapshot:
        """The state saved by the bot's last checkpoint, read in one transaction and checked:
        ``DamagedDatabase`` when it does not add up (see ``trading.persistence.snapshot``)."""
        p, h, o = m.positions.c, m.holdings.c, m.orders.c
        with self._failing_as(f"loading the state of bot {bot_id}"), self._read() as conn:
            bot = conn.execute(select(m.bots.c.last_bar_ts, m.bots.c.cash)
                               .where(m.bots.c.bot_id == bot_id)).first()
            positions = conn.execute(select(p.symbol, p.trade).where(p.bot_id == bot_id)).all()
            holdings = conn.execute(select(h.symbol, h.size, h.price)
                                    .where(h.bot_id == bot_id)).all()
            risk = conn.scalar(select(m.risk_state.c.state).where(m.risk_state.c.bot_id == bot_id))
            pending = conn.execute(
                select(o.purpose, o.size, o.filled_size, o.client_order_id, o.reason, o.symbol)
                .where(o.bot_id == bot_id, o.order_type == "market",
                       o.purpose.in_(("entry", "exit")), o.status.in_(PENDING_STATUSES))
                .order_by(o.id)).all()
        return restored_snapshot(self._url, bot_id, bot, positions, holdings, risk, pending)

    def lease_holder(self, bot_id: str) -> LeaseInfo | None:
        """The process holding the bot's lease, or None; an expired lease (its process stopped
        renewing it and nobody took it since) is returned too: compare ``expires_at``."""
        columns = [m.leases.c[name] for name in LEASE_FIELDS]
        with self._failing_as(f"reading the lease of bot {bot_id}"), self._read() as conn:
            row = conn.execute(select(*columns).where(m.leases.c.bot_id == bot_id)).first()
        return LeaseInfo(**row._mapping) if row else None

    def load_risk_state(self, bot_id: str) -> dict | None:
        with self._failing_as(f"loading the risk state of bot {bot_id}"), self._read() as conn:
            state = conn.scalar(select(m.risk_state.c.state).where(m.risk_state.c.bot_id == bot_id))
        return json.loads(state) if state else None

    def trades(self, bot_id: str) -> list[dict[str, Any]]:
        """Closed trades by exit time: TRADE_FIELDS plus exit_mixins."""
        t = m.trades.c
        query = (select(*(t[name] for name in TRADE_FIELDS), t.exit_mixins)
                 .where(t.bot_id == bot_id).order_by(t.exit_time, t.id))
        return self._rows(query, f"reading the trades of bot {bot_id}")

    def orders(self, bot_id: str) -> list[dict[str, Any]]:
        """Every order the bot sent, in the order it was first seen, with its latest status."""
        o = m.orders.c
        query = select(*(o[name] for name in ORDER_FIELDS)).where(o.bot_id == bot_id).order_by(o.id)
        return self._rows(query, f"reading the orders of bot {bot_id}")

    def equity_curve(self, bot_id: str) -> list[tuple[float, float]]:
        """(bar time in epoch seconds, account value) pairs, oldest first."""
        e = m.equity.c
        with self._failing_as(f"reading the equity of bot {bot_id}"), self._read() as conn:
            rows = conn.execute(select(e.ts, e.equity).where(e.bot_id == bot_id).order_by(e.ts))
            return [(epoch_seconds(ts), value) for ts, value in rows]

    def events(self, bot_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Recorded events (``Event.to_dict()`` payloads), oldest first; optionally one kind."""
        e = m.events.c
        query = select(e.payload).where(e.bot_id == bot_id).order_by(e.id)
        if kind is not None:
            query = query.where(e.kind == kind)
        with self._failing_as(f"reading the events of bot {bot_id}"), self._read() as conn:
            return [json.loads(payload) for payload in conn.scalars(query)]

    def _rows(self, query: Any, what: str) -> list[dict[str, Any]]:
        with self._failing_as(what), self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if self._engine.dialect.name == "postgresql":  # one snapshot for every statement
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

"""The database schema of the store, as SQLAlchemy Core tables.

Every time is a ``UTCDateTime``: ``timestamptz`` on PostgreSQL and ISO text in UTC on SQLite
(``2024-01-01 00:00:00.000000``), so a person reads it as it is in psql or the sqlite3 shell, and
both sort and compare it in time order. The column takes and gives aware UTC datetimes only; the
store converts the bot's epoch seconds at its edge. JSON documents (open trade with the exit
mixins' state, risk state, event payloads) are text the store writes with ``json.dumps``.

The Alembic revisions under ``trading/migrations/versions`` create this schema; a unit test checks
that a migrated database matches these tables exactly. ``Upsert`` is the one portable
insert-or-update the store writes with.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import (Column, Connection, DateTime, Dialect, Double, ForeignKey, Index, Integer,
                        MetaData, String, Table, Text, TypeDecorator, UniqueConstraint, and_,
                        bindparam, exists, func, insert, select)
from sqlalchemy import update as update_statement
from sqlalchemy.dialects import postgresql, sqlite

from trading.persistence.prepared import PreparedWrite

# named constraints, so later migrations can alter them (SQLite batch mode needs the names)
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A moment in time, stored in UTC and read back as an aware UTC datetime.

    PostgreSQL keeps it as ``timestamptz``; SQLite as text ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC
    (SQLAlchemy's SQLite format: fixed width, so text order is time order). A naive datetime is
    refused rather than guessed at: the bot's times are aware UTC by contract.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(timezone.utc)

    # SQLite: the text is written and read in one step each (C-level isoformat/fromisoformat,
    # the same text as SQLAlchemy's own DATETIME format); these run for every time of every bar
    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not timezone.utc:
                value = _utc(value)
            return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
        return to_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> datetime | None:
            if value is None:
                return None
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:  # the store's own text: UTC by construction
                return moment.replace(tzinfo=timezone.utc)
            return moment.astimezone(timezone.utc)
        return from_text


def _utc(value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"a time column takes an aware datetime, not {value!r}")
    return value.astimezone(timezone.utc)


def _bot_id(primary_key: bool = False) -> Column:
    return Column("bot_id", String(64), ForeignKey("bots.bot_id", ondelete="CASCADE"),
                  primary_key=primary_key, nullable=False)


bots = Table(
    "bots", metadata,
    Column("bot_id", String(64), primary_key=True),
    Column("config_path", Text),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_bar_ts", UTCDateTime()),  # the last bar whose processing was checkpointed
    Column("cash", Double),
    Column("value", Double),
)

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _bot_id(),
    Column("client_order_id", String(64), nullable=False),
    Column("venue_order_id", String(64)),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("reason", String(128), nullable=False, default=""),
    Column("size", Double, nullable=False),
    Column("price", Double),
    Column("status", String(16), nullable=False),
    Column("filled_size", Double, nullable=False, default=0.0),
    Column("fill_price", Double),
    Column("fee", Double, nullable=False, default=0.0),
    Column("message", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),  # the first event's time
    Column("updated_at", UTCDateTime(), nullable=False),  # the latest event's time
    UniqueConstraint("bot_id", "client_order_id"),
)

trades = Table(
    "trades", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _bot_id(),
    Column("entry_time", UTCDateTime(), nullable=False),
    Column("exit_time", UTCDateTime(), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("size", Double, nullable=False),
    Column("entry_price", Double, nullable=False),
    Column("exit_price", Double, nullable=False),
    Column("pnl", Double, nullable=False),
    Column("pnl_pct", Double, nullable=False),
    Column("fees", Double, nullable=False),
    Column("exit_reason", String(128), nullable=False),
    Column("bars_held", Integer, nullable=False),
    Column("entry_mixin", String(128), nullable=False, default=""),
    Column("exit_mixins", Text, nullable=False, default=""),
    # a trade written again after a crash and replay of the same bar is the same trade; two
    # symbols of a basket may close on the same bar for the same reason
    UniqueConstraint("bot_id", "symbol", "entry_time", "exit_time", "exit_reason"),
)

positions = Table(
    "positions", metadata,
    _bot_id(primary_key=True),
    Column("symbol", String(32), primary_key=True),  # one open (long) position per symbol
    Column("size", Double, nullable=False),
    Column("entry_price", Double, nullable=False),
    Column("entry_ts", UTCDateTime(), nullable=False),
    Column("trade", Text, nullable=False),  # OpenTrade.to_dict(), incl. per-exit-mixin state
    Column("updated_at", UTCDateTime(), nullable=False),
)

holdings = Table(
    "holdings", metadata,
    # the broker's whole position in a symbol and its average price, a venue's dust included:
    # beside the open trade, a restart must know what of the account's holding is the bot's
    _bot_id(primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("size", Double, nullable=False),
    Column("price", Double),
    # when last written: when it changed, or when the store could not know (a run's first
    # checkpoint, one after a failed one; books.BooksWriter)
    Column("updated_at", UTCDateTime(), nullable=False),
)

equity = Table(
    "equity", metadata,
    _bot_id(primary_key=True),
    Column("ts", UTCDateTime(), primary_key=True),
    Column("equity", Double, nullable=False),
    Column("cash", Double, nullable=False),
)

risk_state = Table(
    "risk_state", metadata,
    _bot_id(primary_key=True),
    Column("state", Text, nullable=False),  # RiskState.to_dict()
    Column("updated_at", UTCDateTime(), nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _bot_id(),
    Column("time", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # Event.to_dict()
    Index(None, "bot_id", "kind"),
)


leases = Table(
    "leases", metadata,
    # one running process per bot: see trading.persistence.lease; no foreign key, a lease is
    # taken before the bot is registered and outlives nothing else
    Column("bot_id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("token", String(64), nullable=False),  # random per acquisition: whose lease it is
    Column("taken_at", UTCDateTime(), nullable=False),
    Column("renewed_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# dialects with INSERT ... ON CONFLICT; the rest get UPDATE, then INSERT when nothing matched
NATIVE_UPSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Upsert:
    """Insert rows; on a clash of ``key`` update the ``update`` columns, or do nothing without any.

    ``keep`` columns keep their stored value when the new one is NULL (a venue order id or fill
    price that a later event no longer carries). Built once, executed with rows of every column;
    the native form runs as a ``PreparedWrite`` (on SQLite, straight on the driver's cursor).
    """

    def __init__(self, dialect: str, table: Table, key: tuple[str, ...],
                 update: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> None:
        self.key, self.update = key, update
        make_insert = NATIVE_UPSERT.get(dialect)
        if make_insert is not None:
            stmt = make_insert(table)
            new = stmt.excluded
            if update:
                set_ = {c: func.coalesce(new[c], table.c[c]) if c in keep else new[c] for c in update}
                native = stmt.on_conflict_do_update(index_elements=key, set_=set_)
            else:
                native = stmt.on_conflict_do_nothing(index_elements=key)
            self._native = PreparedWrite(native, dialect)
            return
        # bind names differ from column names: SQLAlchemy reserves those for SET/VALUES
        self._native = None
        self._insert = insert(table)
        match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
        self._exists = select(exists().where(match))
        self._update = None
        if update:
            values = {c: func.coalesce(bindparam(f"v_{c}"), table.c[c]) if c in keep
                      else bindparam(f"v_{c}") for c in update}
            self._update = update_statement(table).where(match).values(values)

    def __call__(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._native is not None:
            self._native(conn, rows)
            return
        for row in rows:
            params = {f"k_{k}": row[k] for k in self.key}
            if self._update is not None:
                params.update({f"v_{c}": row[c] for c in self.update})
                if conn.execute(self._update, params).rowcount:
                    continue
            elif conn.scalar(self._exists, params):
                continue
            conn.execute(self._insert, row)

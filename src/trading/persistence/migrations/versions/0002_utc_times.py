"""Times as readable UTC timestamps instead of epoch seconds.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-15

Every time column (epoch seconds in a double) becomes ``DateTime(timezone=True)``: ``timestamptz``
on PostgreSQL, ISO text ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC on SQLite. A value becomes the
datetime ``datetime.fromtimestamp(value, timezone.utc)`` gives, to the microsecond, on both:

- PostgreSQL rewrites each column with ``USING``: whole seconds plus the fraction rounded to
  microseconds half to even, as Python rounds it.
- SQLite rebuilds each table (batch mode). The copy casts the doubles to the new column's
  NUMERIC affinity, which leaves them as they are; then a Python function registered on the
  connection rewrites them as text.
"""
from __future__ import annotations

from datetime import timezone

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from alembic import op

from trading.core.timeutil import epoch_seconds, utc_datetime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> its time columns, each (name, nullable)
TIME_COLUMNS = {
    "bots": (("created_at", False), ("started_at", True), ("updated_at", False),
             ("last_bar_ts", True)),
    "orders": (("created_at", False), ("updated_at", False)),
    "trades": (("entry_time", False), ("exit_time", False)),
    "positions": (("entry_ts", False), ("updated_at", False)),
    "equity": (("ts", False),),
    "risk_state": (("updated_at", False),),
    "events": (("time", False),),
}
TO_TEXT = "tradingbot_epoch_to_utc_text"
TO_EPOCH = "tradingbot_utc_text_to_epoch"

# the fraction of a second rounded to microseconds half to even, as datetime.fromtimestamp does
PG_EPOCH_TO_TIMESTAMPTZ = ("to_timestamp(floor({c})) + "
                           "round(({c} - floor({c})) * 1000000)::bigint * interval '1 microsecond'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_retype(sa.Double(), sa.DateTime(timezone=True), TO_TEXT)
        return
    for table, columns in TIME_COLUMNS.items():
        for name, nullable in columns:
            op.alter_column(table, name, type_=sa.DateTime(timezone=True),
                            existing_type=sa.Double(), existing_nullable=nullable,
                            postgresql_using=PG_EPOCH_TO_TIMESTAMPTZ.format(c=name))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # text first (a cast of the text to REAL would read only its year), then the new type
        _sqlite_rewrite(TO_EPOCH)
        _sqlite_retype(sa.DateTime(timezone=True), sa.Double(), None)
        return
    for table, columns in TIME_COLUMNS.items():
        for name, nullable in columns:
            op.alter_column(table, name, type_=sa.Double(),
                            existing_type=sa.DateTime(timezone=True), existing_nullable=nullable,
                            postgresql_using=f"extract(epoch from {name})::double precision")


def _sqlite_retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine,
                   rewrite_with: str | None) -> None:
    for table, columns in TIME_COLUMNS.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for name, nullable in columns:
                batch.alter_column(name, type_=new, existing_type=old, existing_nullable=nullable)
    if rewrite_with is not None:
        _sqlite_rewrite(rewrite_with)


def _sqlite_rewrite(function: str) -> None:
    """Rewrite every time value in place through a Python function (one UPDATE per table)."""
    dbapi = op.get_bind().connection.dbapi_connection
    dbapi.create_function(TO_TEXT, 1, _epoch_to_text, deterministic=True)
    dbapi.create_function(TO_EPOCH, 1, _text_to_epoch, deterministic=True)
    for table, columns in TIME_COLUMNS.items():
        assignments = ", ".join(f"{name} = {function}({name})" for name, _ in columns)
        op.execute(f"UPDATE {table} SET {assignments}")


_SQLITE_DATETIME = sa.DateTime().dialect_impl(sqlite.dialect())
_format = _SQLITE_DATETIME.bind_processor(sqlite.dialect())
_parse = _SQLITE_DATETIME.result_processor(sqlite.dialect(), None)


def _epoch_to_text(value: float | None) -> str | None:
    # SQLAlchemy's own SQLite format, so the store reads these exactly like the ones it writes
    return None if value is None else _format(utc_datetime(value).replace(tzinfo=None))


def _text_to_epoch(value: str | None) -> float | None:
    return None if value is None else epoch_seconds(_parse(value).replace(tzinfo=timezone.utc))

"""The database schema of the store, as SQLAlchemy Core tables.

Every time is epoch seconds (UTC) in a double column, so SQLite and PostgreSQL sort and compare
them the same way and nothing depends on a driver's time zone handling; the store's read methods
turn them back into aware UTC datetimes. JSON documents (open trade with the exit mixins' state,
risk state, event payloads) are text the store writes with ``json.dumps``.

The Alembic revisions under ``trading/migrations/versions`` create this schema; a unit test checks
that a migrated database matches these tables exactly.
"""
from __future__ import annotations

from sqlalchemy import (Column, Double, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

# named constraints, so later migrations can alter them (SQLite batch mode needs the names)
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _bot_id(primary_key: bool = False) -> Column:
    return Column("bot_id", String(64), ForeignKey("bots.bot_id", ondelete="CASCADE"),
                  primary_key=primary_key, nullable=False)


bots = Table(
    "bots", metadata,
    Column("bot_id", String(64), primary_key=True),
    Column("config_path", Text),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", Double, nullable=False),
    Column("started_at", Double),
    Column("updated_at", Double, nullable=False),
    Column("last_bar_ts", Double),  # the last bar whose processing was checkpointed
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
    Column("created_at", Double, nullable=False),  # the first event's time
    Column("updated_at", Double, nullable=False),  # the latest event's time
    UniqueConstraint("bot_id", "client_order_id"),
)

trades = Table(
    "trades", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _bot_id(),
    Column("entry_time", Double, nullable=False),
    Column("exit_time", Double, nullable=False),
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
    # a trade written again after a crash and replay of the same bar is the same trade
    UniqueConstraint("bot_id", "entry_time", "exit_time", "exit_reason"),
)

positions = Table(
    "positions", metadata,
    _bot_id(primary_key=True),  # one open (long) position per bot
    Column("symbol", String(32), nullable=False),
    Column("size", Double, nullable=False),
    Column("entry_price", Double, nullable=False),
    Column("entry_ts", Double, nullable=False),
    Column("trade", Text, nullable=False),  # OpenTrade.to_dict(), incl. per-exit-mixin state
    Column("updated_at", Double, nullable=False),
)

equity = Table(
    "equity", metadata,
    _bot_id(primary_key=True),
    Column("ts", Double, primary_key=True),
    Column("equity", Double, nullable=False),
    Column("cash", Double, nullable=False),
)

risk_state = Table(
    "risk_state", metadata,
    _bot_id(primary_key=True),
    Column("state", Text, nullable=False),  # RiskState.to_dict()
    Column("updated_at", Double, nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _bot_id(),
    Column("time", Double, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # Event.to_dict()
    Index(None, "bot_id", "kind"),
)

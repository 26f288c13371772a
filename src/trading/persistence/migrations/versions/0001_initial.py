"""Initial schema: bots, orders, trades, positions, equity, risk_state, events.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Written out in full rather than built from ``trading.persistence.tables``: a revision is a frozen
picture of the schema at that step, so it still creates the same tables after the models move on.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _bot_id(table: str) -> sa.Column:
    foreign_key = sa.ForeignKey("bots.bot_id", ondelete="CASCADE", name=f"fk_{table}_bot_id_bots")
    return sa.Column("bot_id", sa.String(64), foreign_key, nullable=False)


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("bot_id", sa.String(64), nullable=False),
        sa.Column("config_path", sa.Text()),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("started_at", sa.Double()),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("last_bar_ts", sa.Double()),
        sa.Column("cash", sa.Double()),
        sa.Column("value", sa.Double()),
        sa.PrimaryKeyConstraint("bot_id", name="pk_bots"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _bot_id("orders"),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("venue_order_id", sa.String(64)),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("size", sa.Double(), nullable=False),
        sa.Column("price", sa.Double()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled_size", sa.Double(), nullable=False),
        sa.Column("fill_price", sa.Double()),
        sa.Column("fee", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("bot_id", "client_order_id", name="uq_orders_bot_id_client_order_id"),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _bot_id("trades"),
        sa.Column("entry_time", sa.Double(), nullable=False),
        sa.Column("exit_time", sa.Double(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("size", sa.Double(), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("exit_price", sa.Double(), nullable=False),
        sa.Column("pnl", sa.Double(), nullable=False),
        sa.Column("pnl_pct", sa.Double(), nullable=False),
        sa.Column("fees", sa.Double(), nullable=False),
        sa.Column("exit_reason", sa.String(128), nullable=False),
        sa.Column("bars_held", sa.Integer(), nullable=False),
        sa.Column("entry_mixin", sa.String(128), nullable=False),
        sa.Column("exit_mixins", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("bot_id", "entry_time", "exit_time", "exit_reason",
                            name="uq_trades_bot_id_entry_time_exit_time_exit_reason"),
    )
    op.create_table(
        "positions",
        _bot_id("positions"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("size", sa.Double(), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("entry_ts", sa.Double(), nullable=False),
        sa.Column("trade", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name="pk_positions"),
    )
    op.create_table(
        "equity",
        _bot_id("equity"),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("equity", sa.Double(), nullable=False),
        sa.Column("cash", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "ts", name="pk_equity"),
    )
    op.create_table(
        "risk_state",
        _bot_id("risk_state"),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name="pk_risk_state"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _bot_id("events"),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_bot_id_kind", "events", ["bot_id", "kind"])


def downgrade() -> None:
    for table in ("events", "risk_state", "equity", "positions", "trades", "orders", "bots"):
        op.drop_table(table)

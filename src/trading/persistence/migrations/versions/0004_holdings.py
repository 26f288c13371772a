"""What the bot holds: its broker's whole position in the traded asset, beside the open trade.

At a venue a trade's size and the bot's holding part ways by a lot's rounding (a fee taken from
the base asset, a stop that sells whole lots): the dust left over is the bot's own too, and a
restart must know it to tell the bot's holding from anyone else's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("holding", sa.Double(), nullable=True))
        batch.add_column(sa.Column("holding_price", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("holding_price")
        batch.drop_column("holding")

"""A basket of symbols per bot: one open position and one holding per symbol.

- ``positions`` is keyed by (bot_id, symbol) instead of bot_id alone.
- ``holdings`` keeps the broker's whole position per symbol (size, average price, a venue's dust
  included), which were the ``bots.holding`` and ``bots.holding_price`` columns. A bot that had a
  holding gets a row with the symbol of its open position, else of its latest order; a bot with
  neither has no symbol to put it under (it never traded, so it held nothing of its own).
- A trade written twice (a crash, then the same bar replayed) is still stored once, but its key
  names the symbol: two symbols may close on the same bar for the same reason.

The downgrade puts back the holding of the open position's symbol (else of the first symbol) in
``bots`` and refuses a database that revision 0004 cannot hold: a bot with more than one open
position, or two trades that differ only by their symbol.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from trading.core.errors import StoreError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("trading.persistence.migrations")  # Alembic loads it under its file name

TRADE_KEY_0004 = ("bot_id", "entry_time", "exit_time", "exit_reason")
TRADE_KEY_0005 = ("bot_id", "symbol", "entry_time", "exit_time", "exit_reason")

# the tables as this revision reads and writes their rows (columns only, no types needed)
_bots = sa.table("bots", sa.column("bot_id"), sa.column("updated_at"), sa.column("holding"),
                 sa.column("holding_price"))
_positions = sa.table("positions", sa.column("bot_id"), sa.column("symbol"))
_orders = sa.table("orders", sa.column("id"), sa.column("bot_id"), sa.column("symbol"))
_holdings = sa.table("holdings", sa.column("bot_id"), sa.column("symbol"), sa.column("size"),
                     sa.column("price"), sa.column("updated_at"))
_trades = sa.table("trades", *(sa.column(name) for name in TRADE_KEY_0005))


def _trade_key_name(columns: tuple[str, ...]) -> str:
    return f"uq_trades_{'_'.join(columns)}"


def upgrade() -> None:
    op.create_table(
        "holdings",
        sa.Column("bot_id", sa.String(64), sa.ForeignKey("bots.bot_id", ondelete="CASCADE",
                                                         name="fk_holdings_bot_id_bots"),
                  nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("size", sa.Double(), nullable=False),
        sa.Column("price", sa.Double()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "symbol", name="pk_holdings"),
    )
    _move_holdings_out_of_bots()
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("holding_price")
        batch.drop_column("holding")
    _rekey(("bot_id", "symbol"), TRADE_KEY_0004, TRADE_KEY_0005)


def downgrade() -> None:
    _refuse_what_0004_cannot_hold()
    _rekey(("bot_id",), TRADE_KEY_0005, TRADE_KEY_0004)
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("holding", sa.Double(), nullable=True))
        batch.add_column(sa.Column("holding_price", sa.Double(), nullable=True))
    _move_holdings_into_bots()
    op.drop_table("holdings")


def _rekey(position_key: tuple[str, ...], old_trade_key: tuple[str, ...],
           new_trade_key: tuple[str, ...]) -> None:
    with op.batch_alter_table("positions") as batch:
        batch.drop_constraint("pk_positions", type_="primary")
        batch.create_primary_key("pk_positions", list(position_key))
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint(_trade_key_name(old_trade_key), type_="unique")
        batch.create_unique_constraint(_trade_key_name(new_trade_key), list(new_trade_key))


def _move_holdings_out_of_bots() -> None:
    b = _bots.c
    position_symbol = (sa.select(_positions.c.symbol)
                       .where(_positions.c.bot_id == b.bot_id).limit(1).scalar_subquery())
    latest_order_symbol = (sa.select(_orders.c.symbol).where(_orders.c.bot_id == b.bot_id)
                           .order_by(_orders.c.id.desc()).limit(1).scalar_subquery())
    held = (sa.select(b.bot_id, sa.func.coalesce(position_symbol, latest_order_symbol)
                      .label("symbol"), b.holding, b.holding_price, b.updated_at)
            .where(b.holding.is_not(None)).subquery())
    op.execute(_holdings.insert().from_select(
        ["bot_id", "symbol", "size", "price", "updated_at"],
        sa.select(held).where(held.c.symbol.is_not(None))))
    unplaced = op.get_bind().execute(sa.select(held.c.bot_id, held.c.holding).where(
        held.c.symbol.is_(None), held.c.holding != 0).order_by(held.c.bot_id)).all()
    for bot_id, size in unplaced:
        log.warning("bot %s had a holding of %g saved but no open position and no order that "
                    "tells its symbol: the holding is not kept", bot_id, size)


def _move_holdings_into_bots() -> None:
    h = _holdings.c
    position_symbol = (sa.select(_positions.c.symbol)
                       .where(_positions.c.bot_id == h.bot_id).limit(1).scalar_subquery())
    # the open position's symbol first, then the first symbol by name
    first = sa.case((h.symbol == position_symbol, 0), else_=1)

    def of_chosen(column: sa.ColumnClause) -> sa.ScalarSelect:
        return (sa.select(column).where(h.bot_id == _bots.c.bot_id)
                .order_by(first, h.symbol).limit(1).scalar_subquery())

    op.execute(_bots.update().values(holding=of_chosen(h.size), holding_price=of_chosen(h.price)))


def _refuse_what_0004_cannot_hold() -> None:
    conn = op.get_bind()
    p, t = _positions.c, _trades.c
    baskets = conn.execute(sa.select(p.bot_id, sa.func.count()).group_by(p.bot_id)
                           .having(sa.func.count() > 1).order_by(p.bot_id)).all()
    problems = [f"bot {bot_id} has {count} open positions" for bot_id, count in baskets]
    twins = conn.execute(sa.select(t.bot_id, sa.func.count())
                         .group_by(*(t[c] for c in TRADE_KEY_0004))
                         .having(sa.func.count() > 1)).all()
    problems += [f"bot {bot_id} closed trades in several symbols on the same bar for the same "
                 f"reason ({sum(n for b, n in twins if b == bot_id)} trades)"
                 for bot_id in sorted({b for b, _ in twins})]
    if problems:
        raise StoreError(
            "cannot downgrade the database below schema revision 0005: revision 0004 holds one "
            "open position per bot and one trade per bot, bar and exit reason, but "
            f"{'; '.join(problems)}. A basket bot's database needs this revision: keep it, or "
            "restore a backup taken before the upgrade")

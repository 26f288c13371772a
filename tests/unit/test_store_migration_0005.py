"""Schema revision 0005 (a basket of symbols per bot) on a database a one-symbol bot wrote at
revision 0004, upgraded in place when a store opens it as the bot's would, and downgraded again;
on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from store_helpers import BOT, T0, alembic_config, at, bar, closed_trade, open_trade
from trading.core.errors import StoreError
from trading.core.types import PendingOrder
from trading.persistence import tables
from trading.persistence.repository import Store

POSITION = open_trade(T0 + 60)
HOLDING = (0.5004, 42_000.5)  # the position and the dust a lot's rounding left
EXIT_ID = "tb-1704067320-exit"
TIMES = {"created_at", "updated_at", "started_at", "last_bar_ts", "entry_ts", "entry_time",
         "exit_time", "time", "ts"}


def table_0004(name: str, row: dict) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, tables.UTCDateTime()) if c in TIMES else sa.column(c)
                            for c in row))


def bot_row(bot_id: str, holding: tuple[float | None, float | None], **more) -> dict:
    return dict(bot_id=bot_id, description="", created_at=at(T0), updated_at=at(T0 + 130),
                last_bar_ts=at(T0 + 120), cash=2_999.73, value=10_000.1, holding=holding[0],
                holding_price=holding[1], **more)


def order_row(bot_id: str, cid: str, symbol: str, **more) -> dict:
    row = dict(bot_id=bot_id, client_order_id=cid, venue_order_id=None, symbol=symbol,
               side="buy", order_type="market", purpose="entry", reason="", size=0.5, price=None,
               status="filled", filled_size=0.5, fill_price=42_000.5, fee=0.02, message="",
               created_at=at(T0 + 60), updated_at=at(T0 + 60))
    return {**row, **more}


def rows_at_revision_0004() -> dict[str, list[dict]]:
    """Bot 0001: one-symbol, holding an open position, its exit order sent but not yet filled;
    0002: flat with a holding (its dust) and orders in ETHBTC; 0003: a holding of 0 and no order;
    0004: a position saved before holdings were kept; 0005: a position, and a later order in
    another symbol."""
    position = dict(bot_id=BOT, symbol="BTCUSDT", size=0.5, entry_price=42_000.5,
                    entry_ts=at(T0 + 60), trade=json.dumps(POSITION.to_dict()),
                    updated_at=at(T0 + 120))
    return {
        "bots": [bot_row(BOT, HOLDING), bot_row("0002", (0.0004, None)),
                 bot_row("0003", (0.0, 0.0)), bot_row("0004", (None, None)),
                 bot_row("0005", (0.5, 1.0))],
        "orders": [
            order_row(BOT, "tb-1704067260-entry", "BTCUSDT"),
            order_row(BOT, "tb-1704067260-sl", "BTCUSDT", side="sell", order_type="stop",
                      purpose="stop_loss", price=40_000.0, status="submitted", filled_size=0.0,
                      fill_price=None, fee=0.0),
            order_row(BOT, EXIT_ID, "BTCUSDT", side="sell", purpose="exit", reason="atr_stop",
                      status="submitted", filled_size=0.0, fill_price=None, fee=0.0),
            order_row("0002", "o1", "BTCUSDT"), order_row("0002", "o2", "ETHBTC"),
            order_row("0005", "o3", "ETHBTC"),
        ],
        "positions": [position, {**position, "bot_id": "0004"}, {**position, "bot_id": "0005"}],
        "trades": [{**{name: getattr(closed_trade(T0 - 600, T0 - 300), name) for name in (
            "entry_time", "exit_time", "symbol", "side", "size", "entry_price", "exit_price",
            "pnl", "pnl_pct", "fees", "exit_reason", "bars_held", "entry_mixin")},
                    "bot_id": BOT, "exit_mixins": "ATRExitMixin"}],
        "risk_state": [dict(bot_id=BOT, state='{"kill_switch": false}', updated_at=at(T0 + 120))],
    }


def write_revision_0004(url: str) -> None:
    if url.startswith("sqlite"):
        Path(make_url(url).database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        for name, rows in rows_at_revision_0004().items():
            conn.execute(table_0004(name, rows[0]).insert(), rows)
    engine.dispose()


def downgrade_to_0004(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
    finally:
        engine.dispose()


def bots_holdings(url: str) -> dict[str, tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT bot_id, holding, holding_price FROM bots"))
        found = {bot_id: (size, price) for bot_id, size, price in rows}
    engine.dispose()
    return found


@pytest.fixture
def upgraded(db_url):
    """A revision 0004 database opened (and so upgraded) by a store."""
    write_revision_0004(db_url)
    store = Store(db_url)
    yield store
    store.close()


def test_a_one_symbol_bot_gets_back_its_position_holding_and_pending_order(upgraded, db_url,
                                                                           raw_engine):
    snap = upgraded.load_snapshot(BOT)
    assert (snap.last_bar_ts, snap.cash) == (T0 + 120, 2_999.73)
    assert snap.position == POSITION and snap.positions == {"BTCUSDT": POSITION}
    assert snap.holding == HOLDING and snap.holdings == {"BTCUSDT": HOLDING}
    assert snap.pending_orders == (PendingOrder("exit", 0.5, EXIT_ID, "atr_stop", "BTCUSDT"),)
    assert snap.risk_state == {"kill_switch": False}
    with raw_engine(db_url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                tables.metadata) == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"


def test_a_holding_goes_under_its_position_s_symbol_else_the_latest_order_s_or_nowhere(upgraded):
    # 0005: the position's symbol, whatever its orders; 0002: flat, its latest order in ETHBTC
    # (no price saved: 0); 0003: no symbol to tell, and a holding of 0 means nothing; 0004: none
    # was kept
    assert upgraded.load_snapshot("0005").holdings == {"BTCUSDT": (0.5, 1.0)}
    assert upgraded.load_snapshot("0002").holdings == {"ETHBTC": (0.0004, 0.0)}
    assert upgraded.load_snapshot("0003").holdings is None
    fourth = upgraded.load_snapshot("0004")
    assert fourth.holdings is None and fourth.position == POSITION


def test_the_upgraded_bot_trades_a_basket(upgraded, db_url, raw_engine):
    etc = open_trade(T0 + 180, symbol="ETCBTC")
    twins = [closed_trade(T0 - 600, T0 - 300, symbol=s) for s in ("BTCUSDT", "ETCBTC")]
    upgraded.checkpoint(BOT, **bar(T0 + 180, positions={"BTCUSDT": POSITION, "ETCBTC": etc},
                                   trades=twins,
                                   holdings={"BTCUSDT": HOLDING, "ETCBTC": (0.5, 1.0)}))
    snap = upgraded.load_snapshot(BOT)
    assert list(snap.positions) == ["BTCUSDT", "ETCBTC"] and len(snap.holdings) == 2
    # the trade saved at revision 0004 is the BTCUSDT twin: stored once; ETCBTC's is new
    assert [t["symbol"] for t in upgraded.trades(BOT)] == ["BTCUSDT", "ETCBTC"]
    with raw_engine(db_url).begin() as conn:  # the new table's rows go with their bot
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(sa.text("DELETE FROM bots WHERE bot_id = :bot"), {"bot": BOT})
        assert conn.execute(sa.text("SELECT count(*) FROM holdings WHERE bot_id = :bot"),
                            {"bot": BOT}).scalar() == 0


def test_downgrading_puts_each_bot_s_holding_back_and_upgrading_again_restores_it(upgraded,
                                                                                   db_url):
    upgraded.close()
    downgrade_to_0004(db_url)
    assert bots_holdings(db_url) == {BOT: HOLDING, "0002": (0.0004, None), "0003": (None, None),
                                     "0004": (None, None), "0005": (0.5, 1.0)}
    again = Store(db_url)
    try:
        snap = again.load_snapshot(BOT)
        assert (snap.position, snap.holdings) == (POSITION, {"BTCUSDT": HOLDING})
        assert snap.pending_orders[0].symbol == "BTCUSDT"
    finally:
        again.close()


def test_a_downgrade_keeps_the_holding_of_the_open_position_s_symbol_else_the_first(upgraded,
                                                                                     db_url):
    upgraded.checkpoint(BOT, **bar(T0 + 180, positions={"BTCUSDT": POSITION},
                                   holdings={"ADABTC": (5.0, 6.0), "BTCUSDT": (3.0, 4.0)}))
    upgraded.checkpoint("0002", **bar(T0 + 180, holdings={"XLMBTC": (3.0, 4.0),
                                                           "ETCBTC": (1.0, 2.0)}))
    upgraded.close()
    downgrade_to_0004(db_url)
    found = bots_holdings(db_url)
    assert (found[BOT], found["0002"]) == ((3.0, 4.0), (1.0, 2.0))


@pytest.mark.parametrize("basket, says", [
    ("positions", "bot 0001 has 2 open positions"),
    ("trades", "bot 0001 closed trades in several symbols on the same bar for the same reason "
               r"\(2 trades\)"),
])
def test_a_downgrade_refuses_what_revision_0004_cannot_hold(upgraded, db_url, basket, says):
    if basket == "positions":
        changes = dict(positions={"BTCUSDT": POSITION, "ETCBTC": open_trade(T0, symbol="ETCBTC")})
    else:
        changes = dict(trades=[closed_trade(T0 - 600, T0 - 300, symbol="ETCBTC")])
    upgraded.checkpoint(BOT, **bar(T0 + 180, **changes))
    upgraded.close()
    with pytest.raises(StoreError, match=f"cannot downgrade .* below .* 0005: .*{says}"):
        downgrade_to_0004(db_url)
    again = Store(db_url)  # left as it was
    try:
        assert again.load_snapshot(BOT).holdings == {"BTCUSDT": HOLDING}
    finally:
        again.close()

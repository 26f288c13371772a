"""A database written by an older tradingbot (schema revision 0001, times as epoch seconds) is
upgraded when a store opens it, on SQLite and PostgreSQL, without losing or changing a row."""
from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from store_helpers import alembic_config
from trading.core.types import OpenTrade
from trading.core.timeutil import epoch_seconds, utc_datetime
from trading.persistence import tables
from trading.persistence.repository import Store

T0 = 1_704_067_200.0  # 2024-01-01 00:00 UTC
# times as time.time() gives them (microseconds, and float noise below them), and bar times
NOW = 1_718_000_000.123456
POSITION = OpenTrade(symbol="BTCUSDT", size=0.5, entry_price=42_010.0, entry_ts=T0 + 240,
                     bars_held=1, state={"ATRExitMixin": {"stop": 41_200.75}})
_rng = random.Random(7)
RANDOM_TIMES = [T0 + _rng.uniform(0, 400_000_000) for _ in range(300)]


def rows_at_revision_0001() -> dict[str, list[dict]]:
    """What a bot wrote with revision 0001: every table, every time column, nulls included."""
    return {
        "bots": [
            dict(bot_id="0001", config_path="config/trading/0001.json", description="demo",
                 created_at=NOW, started_at=NOW + 100.654321, updated_at=NOW + 200.5,
                 last_bar_ts=T0 + 300, cash=9_000.5, value=9_100.25),
            dict(bot_id="0002", config_path=None, description="", created_at=NOW + 0.000001,
                 started_at=None, updated_at=NOW + 0.000002, last_bar_ts=None, cash=None,
                 value=None),
        ],
        "orders": [
            dict(id=1, bot_id="0001", client_order_id="tb-1704067200-entry", venue_order_id="V1",
                 symbol="BTCUSDT", side="buy", order_type="market", purpose="entry", reason="",
                 size=0.5, price=None, status="filled", filled_size=0.5, fill_price=42_000.5,
                 fee=0.02, message="", created_at=T0, updated_at=T0 + 60),
            dict(id=2, bot_id="0001", client_order_id="tb-1704067260-sl", venue_order_id=None,
                 symbol="BTCUSDT", side="sell", order_type="stop", purpose="stop_loss",
                 reason="", size=0.5, price=40_000.0, status="submitted", filled_size=0.0,
                 fill_price=None, fee=0.0, message="", created_at=T0 + 60.25,
                 updated_at=T0 + 60.25),
        ],
        "trades": [
            dict(id=1, bot_id="0001", entry_time=T0 + 60, exit_time=T0 + 180, symbol="BTCUSDT",
                 side="long", size=0.5, entry_price=42_000.5, exit_price=42_500.25, pnl=249.835,
                 pnl_pct=1.19, fees=0.04, exit_reason="atr_stop", bars_held=2,
                 entry_mixin="RSIBBEntryMixin", exit_mixins="ATRExitMixin"),
            dict(id=2, bot_id="0001", entry_time=T0 + 60, exit_time=T0 + 180, symbol="BTCUSDT",
                 side="long", size=0.5, entry_price=42_000.5, exit_price=42_500.25, pnl=249.835,
                 pnl_pct=1.19, fees=0.04, exit_reason="time_exit", bars_held=2,
                 entry_mixin="RSIBBEntryMixin", exit_mixins="TimeBasedExitMixin"),
        ],
        "positions": [
            dict(bot_id="0001", symbol="BTCUSDT", size=0.5, entry_price=42_010.0,
                 entry_ts=T0 + 240, trade=json.dumps(POSITION.to_dict()), updated_at=NOW + 200.5),
        ],
        "equity": [dict(bot_id="0001", ts=T0 + 60 * i, equity=10_000.0 + i, cash=5_000.0 + i)
                   for i in range(6)],
        "risk_state": [dict(bot_id="0001", state='{"kill_switch": false}', updated_at=NOW)],
        "events": [dict(id=i + 1, bot_id="0001" if i % 2 else "0002", time=ts,
                        kind="error" if i % 3 else "kill_switch", payload=f'{{"i": {i}}}')
                   for i, ts in enumerate(RANDOM_TIMES)],
    }


def write_revision_0001(url: str) -> dict[str, list[dict]]:
    rows = rows_at_revision_0001()
    if url.startswith("sqlite"):
        Path(make_url(url).database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        for table, table_rows in rows.items():
            columns = list(table_rows[0])
            conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({', '.join(':' + c for c in columns)})"), table_rows)
    engine.dispose()
    return rows


def time_columns(table: str) -> set[str]:
    return {c.name for c in tables.metadata.tables[table].c
            if isinstance(c.type, tables.UTCDateTime)}


# columns later revisions add, as an upgraded row holds them (0004 added the bots' holding,
# which 0005 moved to a table of its own: a database written before it was kept has no rows)
ADDED: dict[str, dict] = {}


def expected_after_upgrade(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The same rows with each epoch time as the aware UTC datetime the store reads back, and
    the columns later revisions added."""
    return {table: [{**{name: utc_datetime(v) if name in time_columns(table) and v is not None
                        else v for name, v in row.items()}, **ADDED.get(table, {})}
                    for row in table_rows]
            for table, table_rows in rows.items()}


def read_everything(url: str) -> dict[str, list[dict]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {name: [dict(r._mapping) for r in conn.execute(
                     select(table).order_by(*table.primary_key.columns))]
                 for name, table in tables.metadata.tables.items() if name != "leases"}
    engine.dispose()
    return found


def test_opening_a_revision_0001_database_converts_every_time_and_keeps_every_row(db_url):
    written = write_revision_0001(db_url)
    store = Store(db_url)
    try:
        snapshot = store.load_snapshot("0001")
        assert snapshot.last_bar_ts == T0 + 300 and snapshot.cash == 9_000.5
        assert snapshot.position == POSITION
        assert store.equity_curve("0001") == [(T0 + 60 * i, 10_000.0 + i) for i in range(6)]
        assert [(t["entry_time"], t["exit_time"]) for t in store.trades("0001")] == \
            [(utc_datetime(T0 + 60), utc_datetime(T0 + 180))] * 2
        assert [o["created_at"] for o in store.orders("0001")] == [utc_datetime(T0),
                                                                   utc_datetime(T0 + 60.25)]
        assert len(store.events("0002")) == 150
    finally:
        store.close()

    found = read_everything(db_url)
    expected = expected_after_upgrade(written)
    for table in expected:
        # the rows come back in primary-key order, as they were written
        assert found[table] == sorted(expected[table], key=lambda r: tuple(
            r[c.name] for c in tables.metadata.tables[table].primary_key.columns)), table
    assert isinstance(found["events"][0]["time"], datetime)
    assert {r["time"].tzinfo is not None for r in found["events"]} == {True}

    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                tables.metadata) == []
    engine.dispose()


def test_the_times_are_readable_text_in_the_sqlite_shell(sqlite_url):
    write_revision_0001(sqlite_url)
    Store(sqlite_url).close()
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        created, started = conn.exec_driver_sql(
            "SELECT created_at, started_at FROM bots WHERE bot_id = '0001'").one()
        kinds = {r[0] for r in conn.exec_driver_sql("SELECT typeof(time) FROM events")}
    engine.dispose()
    assert (created, started) == ("2024-06-10 06:13:20.123456", "2024-06-10 06:15:00.777777")
    assert kinds == {"text"}


def test_the_orders_of_a_bot_still_go_when_the_bot_is_deleted_after_the_upgrade(db_url):
    # the rebuilt tables keep their foreign keys (ON DELETE CASCADE) on both databases
    write_revision_0001(db_url)
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("DELETE FROM bots WHERE bot_id = '0001'"))
        left = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("orders", "trades", "positions", "equity", "risk_state", "events")}
    engine.dispose()
    assert left == {"orders": 0, "trades": 0, "positions": 0, "equity": 0, "risk_state": 0,
                    "events": 150}


def test_downgrading_to_0001_gives_back_the_epoch_seconds(db_url):
    written = write_revision_0001(db_url)
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with engine.connect() as conn:
        bots = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM bots ORDER BY bot_id"))]
        events = [r[0] for r in conn.execute(text("SELECT time FROM events ORDER BY id"))]
    engine.dispose()
    # each time as it was, to the microsecond: all that revision 0002 keeps
    to_microseconds = lambda ts: None if ts is None else epoch_seconds(utc_datetime(ts))
    assert bots == [{k: to_microseconds(v) if k in time_columns("bots") else v
                     for k, v in row.items()} for row in written["bots"]]
    assert events == [to_microseconds(ts) for ts in RANDOM_TIMES]
    assert events != RANDOM_TIMES  # (the float noise below a microsecond is gone)

"""PreparedWrite: on SQLite a write runs straight on the driver's cursor, with the same SQL,
values, transaction and errors as SQLAlchemy's own ``Connection.execute``."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from trading.persistence import tables as m
from trading.persistence.prepared import PreparedWrite

AT = datetime(2024, 1, 1, 12, 30, 15, 250_000, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    m.metadata.create_all(engine)
    yield engine
    engine.dispose()


def bot_row(bot_id: str) -> dict:
    return {"bot_id": bot_id, "config_path": None, "description": "d", "created_at": AT,
            "started_at": None, "updated_at": AT, "last_bar_ts": AT, "cash": 1.5, "value": 2}


def test_rows_written_on_the_cursor_read_back_as_sqlalchemy_writes_them(engine):
    with engine.begin() as conn:
        PreparedWrite(insert(m.bots), "sqlite")(conn, [bot_row("fast")])
        conn.execute(insert(m.bots), [bot_row("core")])
    with engine.connect() as conn:
        rows = {r.bot_id: tuple(r)[1:] for r in conn.execute(select(m.bots))}
        raw = conn.exec_driver_sql("SELECT bot_id, created_at, typeof(value), value FROM bots "
                                   "ORDER BY bot_id").all()
    assert rows["fast"] == rows["core"]
    assert rows["fast"][2] == AT  # an aware UTC datetime again
    assert raw[0][1:] == raw[1][1:] == ("2024-01-01 12:30:15.250000", "real", 2.0)


def test_many_rows_and_a_delete_by_bound_value(engine):
    write = PreparedWrite(insert(m.bots), "sqlite")
    drop = PreparedWrite(delete(m.bots).where(m.bots.c.bot_id == "b"), "sqlite")
    with engine.begin() as conn:
        write(conn, [bot_row("a"), bot_row("b"), bot_row("c")])
        drop(conn, [{}])
        write(conn, [])  # nothing to write: no statement at all
    with engine.connect() as conn:
        assert conn.scalars(select(m.bots.c.bot_id).order_by(m.bots.c.bot_id)).all() == ["a", "c"]


def test_a_driver_error_is_sqlalchemys_error_and_the_transaction_rolls_back(engine):
    write = PreparedWrite(insert(m.bots), "sqlite")
    with pytest.raises(IntegrityError, match="UNIQUE constraint failed: bots.bot_id"):
        with engine.begin() as conn:
            write(conn, [bot_row("a")])
            write(conn, [bot_row("a")])
    with engine.connect() as conn:
        assert conn.scalars(select(m.bots.c.bot_id)).all() == []


def test_rows_without_a_defaulted_column_get_its_default_through_sqlalchemy(engine):
    row = bot_row("a")
    del row["description"]  # a Python-side default SQLAlchemy fills in
    with engine.begin() as conn:
        PreparedWrite(insert(m.bots), "sqlite")(conn, [row])
    with engine.connect() as conn:
        assert conn.scalar(select(m.bots.c.description)) == ""

"""A damaged or tampered database stops the bot before it trades, with a message that says what is
wrong and how to recover; a database that cannot be written stops it with a failure, never 0.

Each fault is applied to the database of a bot that stopped holding a position (the case where a
wrong restore costs money), then the real CLI is started on it again.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Callable

import pytest

from bot_workspace import SAMPLE, BotWorkspace

HOLDING_LINES = 212  # header + bars up to a few bars after the second entry of config 0001
EXIT_RUNTIME = 3


def _sql(*statements: str) -> Callable[[Path], None]:
    def apply(db: Path) -> None:
        con = sqlite3.connect(db)
        try:
            con.execute("PRAGMA foreign_keys=OFF")  # as a hand edit in the sqlite3 shell would
            for statement in statements:
                con.execute(statement)
            con.commit()
        finally:
            con.close()
    return apply


def _truncate(db: Path) -> None:
    db.write_bytes(b"")


def _flip(data: bytearray, start: int, size: int) -> None:
    for i in range(start, min(len(data), start + size)):
        data[i] ^= 0xA5  # flip bits, as a failing disk or a stray write would


def _flip_header(db: Path) -> None:
    data = bytearray(db.read_bytes())
    _flip(data, 0, 100)
    db.write_bytes(bytes(data))


def _flip_near(marker: bytes, size: int) -> Callable[[Path], None]:
    """Flip ``size`` bytes of stored content, starting at ``marker`` (e.g. inside a JSON text)."""
    def apply(db: Path) -> None:
        data = bytearray(db.read_bytes())
        start = data.find(marker)
        assert start > 0, f"{marker!r} is not in the database file"
        _flip(data, start, size)
        db.write_bytes(bytes(data))
    return apply


def _scramble_table_page(table: str) -> Callable[[Path], None]:
    """Scramble the b-tree page header of ``table``'s root page: SQLite's own check fails."""
    def apply(db: Path) -> None:
        con = sqlite3.connect(db)
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        con.close()
        data = bytearray(db.read_bytes())
        _flip(data, (root - 1) * page_size + 3, 4)  # cell count and cell-content offset
        db.write_bytes(bytes(data))
    return apply


# (name, fault, what the message must say)
FAULTS = [
    ("zero-byte database file", _truncate, "journal"),
    ("bots row deleted, position kept", _sql("DELETE FROM bots"), "no checkpointed bar"),
    ("cash set to NULL", _sql("UPDATE bots SET cash = NULL"), "cash is None"),
    ("cash far below zero", _sql("UPDATE bots SET cash = -1e9"), "cash is -1000000000.0"),
    ("position is not JSON", _sql("UPDATE positions SET trade = '{not json'"), "not valid JSON"),
    ("position lacks its fields", _sql("UPDATE positions SET trade = '{}'"),
     "does not have the fields of a trade"),
    ("position with a zero size", _sql(
        "UPDATE positions SET trade = json_set(trade, '$.size', 0)"), "positive finite"),
    ("risk state is not JSON", _sql("UPDATE risk_state SET state = '[[['"), "not valid JSON"),
    ("risk state is not an object", _sql("UPDATE risk_state SET state = '42'"), "not an object"),
    ("schema revision table dropped", _sql("DROP TABLE alembic_version"), "no schema revision"),
    ("file header flipped", _flip_header, "damaged"),
    ("b-tree page of the orders table scrambled", _scramble_table_page("orders"), "malformed"),
    ("200 bytes flipped inside the saved position", _flip_near(b'"entry_reason"', 200), "damaged"),
]


@pytest.fixture(scope="module")
def holding_database(tmp_path_factory: pytest.TempPathFactory) -> BotWorkspace:
    """A bot that stopped holding an open position (its database and journal)."""
    ws = BotWorkspace(tmp_path_factory.mktemp("holding"))
    part = ws.root / "part.csv"
    part.write_text("\n".join(SAMPLE.read_text().splitlines()[:HOLDING_LINES]) + "\n")
    ws.write_config(data={"file_path": str(part)})
    done = ws.run()
    assert done.returncode == 0, done.stderr
    assert ws.has_open_position(), "the reference run must stop holding a position"
    return ws


def _copy(source: BotWorkspace, root: Path) -> BotWorkspace:
    shutil.copytree(source.root, root, dirs_exist_ok=True)
    ws = BotWorkspace(root)
    for suffix in ("-wal", "-shm"):  # the copy must hold everything in the main file
        Path(f"{ws.db_path}{suffix}").unlink(missing_ok=True)
    return ws


@pytest.mark.parametrize("fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_damaged_database_stops_the_bot_before_it_trades(holding_database, tmp_path, fault):
    name, apply, says = fault
    ws = _copy(holding_database, tmp_path / "ws")
    con = sqlite3.connect(ws.db_path)  # fold the write-ahead log in, as a backup tool would
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    apply(ws.db_path)
    before = ws.db_path.read_bytes()
    orders_journal = ws.root / "logs" / "json" / ws.bot_id / "orders.jsonl"
    journal_before = orders_journal.read_text()
    ws.write_config(data={"file_path": str(SAMPLE)})  # more bars: a bot that ran would trade
    done = ws.run()
    assert done.returncode == EXIT_RUNTIME, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert says in done.stderr, done.stderr
    assert "damaged" in done.stderr and "tradingbot reset" in done.stderr
    assert "restore" in done.stderr.lower()
    assert orders_journal.read_text() == journal_before, "an order was journalled"
    if name != "zero-byte database file":
        # nothing was traded or written: the refusal comes before any checkpoint
        assert ws.db_path.read_bytes()[:16] == before[:16]


def test_an_in_memory_database_is_refused_for_a_bot(tmp_path):
    ws = BotWorkspace(tmp_path)
    ws.write_config(database={"url": "sqlite:///:memory:"})
    done = ws.run()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "in-memory SQLite database, which keeps nothing" in done.stderr


def test_a_password_in_the_url_query_is_masked_everywhere(tmp_path):
    ws = BotWorkspace(tmp_path)
    secret = "s3cr3t-in-query"
    url = f"postgresql://bot@127.0.0.1:9/none?password={secret}&connect_timeout=1"
    ws.write_config(database={"url": url})
    done = ws.run()
    assert done.returncode != 0
    assert secret not in done.stdout + done.stderr
    assert "password=***" in done.stderr
    for path in (tmp_path / "logs").rglob("*") if (tmp_path / "logs").exists() else ():
        if path.is_file():
            assert secret not in path.read_text(errors="replace")


def test_a_write_failure_during_a_run_stops_the_bot_with_a_failure(tmp_path, monkeypatch):
    """The database stops taking writes mid-run (a full disk, a file made read-only)."""
    from trading.config.loading import load_config
    from trading.core.errors import StoreError, TradingBotError
    from trading.persistence.repository import Store
    from trading.runtime.bot import LiveTradingBot

    ws = BotWorkspace(tmp_path)
    ws.write_config(data={"speed": 0})
    monkeypatch.chdir(tmp_path)
    config = load_config(ws.config_path)
    calls = {"n": 0}
    real = Store.checkpoint

    def failing_checkpoint(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 150:
            raise StoreError(f"checkpoint in {self.url} failed: attempt to write a readonly database")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "checkpoint", failing_checkpoint)
    bot = LiveTradingBot(config)
    with pytest.raises(TradingBotError, match="readonly database"):
        bot.run()
    assert bot.get_status()["state"] == "error"
    assert calls["n"] == 151  # it stopped at the first failing bar, trading nothing after it


def test_a_log_that_cannot_be_folded_stops_the_bot_with_a_failure(tmp_path, monkeypatch):
    from trading.config.loading import load_config
    from trading.core.errors import StoreError, TradingBotError
    from trading.persistence.repository import Store
    from trading.runtime import bot as bot_module

    ws = BotWorkspace(tmp_path)
    ws.write_config(data={"speed": 100})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot_module, "WAL_FLUSH_SECONDS", 0.05)

    def failing_flush(self):
        raise StoreError(f"folding the write-ahead log in {self.url} failed: disk I/O error")

    monkeypatch.setattr(Store, "flush_wal", failing_flush)
    bot = bot_module.LiveTradingBot(load_config(ws.config_path))
    with pytest.raises(TradingBotError, match="writing its database failed: .*disk I/O error"):
        bot.run()
    assert bot.get_status()["state"] == "error"


@pytest.mark.postgres
def test_the_readme_example_moves_the_demo_bot_from_sqlite_to_postgresql(tmp_path, pg_url):
    """The README's demo, then its PostgreSQL example in the same folder: a deliberate move to
    another database starts there, with a journal of its own; the SQLite journal is set aside."""
    ws = BotWorkspace(tmp_path)
    part = tmp_path / "part.csv"  # the demo's first 1,000 bars: what is moved is a few trades
    part.write_text("\n".join(SAMPLE.read_text().splitlines()[:1001]) + "\n")
    ws.write_config(data={"file_path": str(part)})
    first = ws.run()
    assert first.returncode == 0, first.stderr
    sqlite_trades = len(ws.trades())
    assert sqlite_trades > 1
    journals = tmp_path / "logs" / "json"
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")  # as the README writes it
    second = ws.run("--db", url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "replaced, emptied or lost" not in second.stderr
    assert "This database is a new one for the bot" in second.stderr
    assert "restoring bot" not in second.stderr  # nothing of the SQLite run is taken over
    set_aside = [p for p in journals.iterdir() if p.name.startswith(f"{ws.bot_id}@")]
    assert len(set_aside) == 1
    assert len((set_aside[0] / "trades.jsonl").read_text().splitlines()) == sqlite_trades
    on_server = BotWorkspace(tmp_path, db_url=pg_url)
    try:
        assert len(on_server.trades()) == sqlite_trades  # the same demo, traded afresh there
    finally:
        on_server.close()
    assert len((journals / ws.bot_id / "trades.jsonl").read_text().splitlines()) == sqlite_trades
    # run again on the server: the same database, restored, nothing set aside
    third = ws.run("--db", url)
    assert third.returncode == 0, third.stderr
    assert "restoring bot" in third.stderr and "new one for the bot" not in third.stderr
    assert len([p for p in journals.iterdir() if p.name.startswith(f"{ws.bot_id}@")]) == 1

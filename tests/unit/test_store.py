"""The store on SQLite and PostgreSQL: migrations, per-bar checkpoints and what a restart gets
back. ``db_url`` (tests/conftest.py) runs a test on both; ``sqlite_url`` is for SQLite's own
concerns (the file, its folder, the write-ahead log)."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from store_helpers import BOT, T0, at, bar, closed_trade, open_trade, order
from trading.core.types import PendingOrder
from trading.persistence import tables as store_models
from trading.core.errors import StoreError
from trading.core.events import TRADE_FIELDS, ErrorEvent, KillSwitchEvent
from trading.risk import RiskState
from trading.persistence.repository import BotSnapshot, Store

TABLES = {"bots", "orders", "trades", "positions", "holdings", "equity", "risk_state", "events",
          "leases"}
HEAD = "0005"  # the newest schema revision


# -- migrations --------------------------------------------------------------------------------------
def test_opening_a_new_database_creates_every_table_at_the_newest_revision(open_store, db_url,
                                                                           raw_engine):
    store = open_store()
    engine = raw_engine(db_url)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (HEAD,)
        # the migrations and the models describe the same schema
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                store_models.metadata) == []
    assert store.url == make_url(db_url).render_as_string(hide_password=True)


def test_a_new_sqlite_file_is_created_with_its_folder_in_wal_mode(sqlite_url, raw_engine):
    store = Store(sqlite_url)
    db = Path(make_url(sqlite_url).database)
    assert db.is_file()  # the data/ folder was created
    with raw_engine(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
    assert store.url == f"sqlite:///{db}"


def test_reopening_an_existing_database_keeps_its_rows_and_revision(open_store, db_url, raw_engine):
    first = open_store()
    first.register_bot(BOT, "config/trading/0001.json", "demo")
    first.checkpoint(BOT, **bar(T0, cash=9_000.0))
    first.close()
    again = open_store()
    assert again.load_snapshot(BOT).cash == 9_000.0
    with raw_engine(db_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (HEAD,)


OPENER = textwrap.dedent("""
    import sys
    from trading.persistence.repository import Store

    print("ready", flush=True)
    sys.stdin.readline()
    Store(sys.argv[1]).close()
    print("opened", flush=True)
""")


def test_bots_started_together_on_a_new_database_all_open_it(db_url, raw_engine):
    # the first migrates under a lock; the others wait for it and find the schema done
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, db_url], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(4)]
    assert [o.stdout.readline().strip() for o in openers] == ["ready"] * 4
    for opener in openers:
        opener.stdin.write("go\n")
        opener.stdin.flush()
    outcomes = [o.communicate(timeout=60) for o in openers]
    assert [out.strip() for out, _ in outcomes] == ["opened"] * 4, outcomes
    with raw_engine(db_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (HEAD,)


def test_a_database_from_a_newer_version_is_refused_with_a_clear_message(open_store, db_url,
                                                                         raw_engine):
    open_store().close()
    with raw_engine(db_url).begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0042'")
    with pytest.raises(StoreError, match="revision 0042.*newer tradingbot"):
        Store(db_url)


def test_an_unwritable_location_gives_a_store_error_naming_it(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the data folder should be")
    url = f"sqlite:///{blocker / 'data' / 'bot.sqlite'}"
    with pytest.raises(StoreError, match="cannot open or migrate the database .*not_a_folder.*writable"):
        Store(url)


READ_ONLY_OPENER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from trading.core.errors import StoreError
    from trading.persistence.repository import Store

    folder = Path(sys.argv[1])
    try:  # first prove this process may not write there (else the check below proves nothing)
        (folder / "probe").write_text("")
    except PermissionError:
        pass
    else:
        sys.exit("this process can write into the read-only folder: the check would prove nothing")
    try:
        Store(f"sqlite:///{folder / 'bot.sqlite'}")
    except StoreError as exc:
        print(exc)
        sys.exit(0)
    sys.exit("the store opened a database in a read-only folder")
""")

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2  # linux/capability.h
PR_CAPBSET_DROP = 24  # linux/prctl.h


def _without_root_file_access() -> None:
    """In the child before it executes Python: drop the capabilities that let root read and write
    any file and folder whatever its permissions, from the bounding set. Root keeps uid 0 (the
    interpreter may live where only root may read, e.g. /root/.pyenv), but the new program gets
    neither capability, so a folder's permissions hold for it as for any user."""
    import ctypes  # noqa: PLC0415 (only the root case needs it)

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def test_a_read_only_folder_gives_a_store_error(tmp_path):
    # The check runs in a child process so that it runs as root too (CI runs as root): root
    # writes into read-only folders through CAP_DAC_OVERRIDE, which the child is started without.
    # Dropping to another user (setuid) is no way here: that user may be unable to read the
    # interpreter or the code. The child first proves it cannot write into the folder.
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    as_root = os.geteuid() == 0
    try:
        done = subprocess.run([sys.executable, "-c", READ_ONLY_OPENER, str(folder)], text=True,
                              capture_output=True, timeout=60,
                              preexec_fn=_without_root_file_access if as_root else None)
    except subprocess.SubprocessError as exc:  # the preexec_fn failed: prctl refused
        if as_root and "preexec_fn" in str(exc):
            pytest.skip("running as root without CAP_SETPCAP, so root's file access cannot be "
                        "dropped for a child and a read-only folder cannot be made read-only to it")
        raise
    finally:
        folder.chmod(0o700)
    assert done.returncode == 0, done.stderr
    assert "cannot open or migrate the database" in done.stdout and str(folder) in done.stdout
    assert "Traceback" not in done.stderr
    assert not (folder / "bot.sqlite").exists() and not (folder / "probe").exists()


@pytest.mark.parametrize("url", ["trader:s3cret@localhost/bots",  # no scheme
                                 "nosuchdb://trader:s3cret@localhost/bots",  # unknown dialect
                                 "postgresql+nosuchdriver://trader:s3cret@localhost/bots"])
def test_a_bad_database_url_is_explained_without_showing_the_password(url):
    with pytest.raises(StoreError, match="SQLAlchemy URL|cannot open") as error:
        Store(url)
    assert "s3cret" not in str(error.value)


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_without_a_driver_opens_with_psycopg(pg_url, scheme):
    url = make_url(pg_url).set(drivername=scheme).render_as_string(hide_password=False)
    store = Store(url)
    try:
        store.checkpoint(BOT, **bar(T0))
        assert store.load_snapshot(BOT).last_bar_ts == T0
        assert store.url == make_url(pg_url).render_as_string(hide_password=True)
        assert store.url.startswith("postgresql+psycopg://")
    finally:
        store.close()


# -- checkpoints and restart -------------------------------------------------------------------------
def test_a_restart_gets_back_orders_position_risk_and_cash_of_the_last_checkpoint(open_store,
                                                                                 upsert_path):
    store = open_store()
    store.register_bot(BOT, "config/trading/0001.json", "demo")
    risk = RiskState(day=19723, day_start_equity=10_000.0, trades_today=1, peak_equity=10_100.0,
                     order_times=[T0 - 60, T0]).to_dict()
    # bar 1: the entry rule fired; the market order is not filled yet
    entry = "tb-1704067200-entry"
    store.checkpoint(BOT, **bar(T0, cash=10_000.0, risk_state=risk,
                                orders=[order(T0, entry, "submitted"), order(T0, entry, "accepted")]))
    restart = open_store().load_snapshot(BOT)
    assert restart.last_bar_ts == T0 and restart.cash == 10_000.0 and restart.position is None
    assert restart.pending_orders == (PendingOrder("entry", 0.5, entry, "", "BTCUSDT"),)
    assert restart.risk_state == risk

    # bar 2: filled, a stop placed, the position carries the exit mixins' state
    position = open_trade(T0 + 60)
    store.checkpoint(BOT, **bar(T0 + 60, cash=2_999.73, value=10_000.1,
                                positions={"BTCUSDT": position},
                                orders=[order(T0 + 60, entry, "filled", filled=0.5,
                                              fill_price=42_000.5, venue_id="V1"),
                                        order(T0 + 60, "tb-1704067260-sl", "submitted",
                                              purpose="stop_loss", side="sell", order_type="stop")]))
    restart = open_store().load_snapshot(BOT)
    assert restart.position == position
    assert restart.pending_orders == ()  # protective stops are re-placed from the position
    assert restart.cash == 2_999.73

    # bar 3: an exit decided; bar 4: it filled and the trade closed
    exit_id = "tb-1704067380-exit"
    position.bars_held = 4
    store.checkpoint(BOT, **bar(T0 + 120, positions={"BTCUSDT": position}, orders=[
        order(T0 + 120, exit_id, "submitted", purpose="exit", side="sell", reason="atr_stop")]))
    restart = open_store().load_snapshot(BOT)
    assert restart.position.bars_held == 4
    assert restart.pending_orders == (PendingOrder("exit", 0.5, exit_id, "atr_stop", "BTCUSDT"),)

    trade = closed_trade(T0 + 60, T0 + 180)
    store.checkpoint(BOT, **bar(T0 + 180, cash=10_249.9, value=10_249.9, trades=[trade], orders=[
        order(T0 + 180, exit_id, "filled", purpose="exit", side="sell", filled=0.5,
              fill_price=42_500.25, reason="atr_stop"),
        order(T0 + 180, "tb-1704067260-sl", "canceled", purpose="stop_loss", side="sell",
              order_type="stop")]))
    reopened = open_store()
    restart = reopened.load_snapshot(BOT)
    assert (restart.last_bar_ts, restart.position, restart.pending_orders) == (T0 + 180, None, ())

    trades = reopened.trades(BOT)
    assert trades == [{**{name: getattr(trade, name) for name in TRADE_FIELDS},
                       "exit_mixins": "ATRExitMixin,TimeBasedExitMixin"}]
    assert trades[0]["exit_time"].tzinfo is not None

    orders = {o["client_order_id"]: o for o in reopened.orders(BOT)}
    assert len(reopened.orders(BOT)) == 3  # one row per client order id
    assert orders[entry]["status"] == "filled" and orders[entry]["fill_price"] == 42_000.5
    assert orders[entry]["venue_order_id"] == "V1"
    assert orders[entry]["created_at"] == at(T0) and orders[entry]["updated_at"] == at(T0 + 60)
    assert orders["tb-1704067260-sl"]["status"] == "canceled"
    assert orders[exit_id]["reason"] == "atr_stop" and orders[exit_id]["filled_size"] == 0.5
    assert reopened.equity_curve(BOT) == [(T0, 10_000.0), (T0 + 60, 10_000.1), (T0 + 120, 10_000.0),
                                          (T0 + 180, 10_249.9)]


def test_a_partly_filled_order_is_restored_for_what_is_still_missing(open_store):
    store = open_store()
    store.checkpoint(BOT, **bar(T0, orders=[order(T0, "e1", "partial", filled=0.2,
                                                  fill_price=42_000.0)]))
    assert store.load_snapshot(BOT).pending_orders == (PendingOrder("entry", 0.3, "e1", "",
                                                                     "BTCUSDT"),)


def test_a_bot_that_never_ran_has_an_empty_snapshot(open_store):
    assert open_store().load_snapshot("9999") == BotSnapshot("9999", None, None, {}, (), None)


def test_the_same_trade_checkpointed_twice_is_stored_once(open_store, upsert_path):
    store = open_store()
    trade = closed_trade(T0, T0 + 300)
    store.checkpoint(BOT, **bar(T0 + 300, trades=[trade]))
    store.checkpoint(BOT, **bar(T0 + 300, trades=[trade, trade]))  # the same bar, replayed
    other_exit = closed_trade(T0, T0 + 300, reason="time_exit")
    store.checkpoint(BOT, **bar(T0 + 360, trades=[other_exit]))
    assert [t["exit_reason"] for t in store.trades(BOT)] == ["atr_stop", "time_exit"]
    assert store.equity_curve(BOT) == [(T0 + 300, 10_000.0), (T0 + 360, 10_000.0)]


def test_a_checkpoint_that_fails_half_way_leaves_the_previous_one_intact(open_store):
    store = open_store()
    position = open_trade(T0)
    store.checkpoint(BOT, **bar(T0, cash=3_000.0, positions={"BTCUSDT": position}, orders=[
        order(T0, "e1", "filled", filled=0.5, fill_price=42_000.5)]))
    before = store.load_snapshot(BOT)
    broken = closed_trade(T0, T0 + 60, reason=None)  # NOT NULL: fails after the bots and orders rows
    with pytest.raises(StoreError, match=f"checkpoint of bot {BOT} at bar {T0 + 60}"):
        store.checkpoint(BOT, **bar(T0 + 60, cash=10_250.0, trades=[broken], orders=[
            order(T0 + 60, "x1", "filled", purpose="exit", side="sell", filled=0.5,
                  fill_price=42_500.0)]))
    after = open_store()
    assert after.load_snapshot(BOT) == before
    assert [o["client_order_id"] for o in after.orders(BOT)] == ["e1"]
    assert after.trades(BOT) == [] and after.equity_curve(BOT) == [(T0, 10_000.0)]


CRASHING_WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime, timezone
    from strategies.mixins.base import OpenTrade
    from trading.core.events import OrderEvent, TradeClosed
    from trading.persistence.repository import BotSnapshot, Store

    at = lambda ts: datetime.fromtimestamp(ts, tz=timezone.utc)
    store = Store(sys.argv[1])
    last = store.load_snapshot("crash").last_bar_ts
    i = first = int(last // 60) + 1 if last is not None else 1
    print("ready", flush=True)
    while True:  # bar i: a position on bars not divisible by 3, a closed trade on the others
        ts = i * 60.0
        held = i % 3 != 0
        position = (OpenTrade(symbol="X", size=1.0, entry_price=100.0, entry_ts=ts, bars_held=i,
                              state={"m": {"i": i}}) if held else None)
        trades = [] if held else [TradeClosed(at(ts - 60), at(ts), "X", "long", 1.0, 100.0, 101.0,
                                              1.0, 1.0, 0.0, "x", 1)]
        orders = [OrderEvent(time=at(ts), symbol="X", client_order_id=f"o{i}", side="buy",
                             order_type="market", size=1.0, status="submitted", purpose="entry")]
        store.checkpoint("crash", bar_ts=ts, cash=float(i), value=float(i), orders=orders,
                         trades=trades, positions={"X": position} if held else {},
                         risk_state={"i": i}, save_equity=True)
        if i == first:
            print("committed", flush=True)
        i += 1
""")


def test_a_killed_writer_leaves_a_consistent_last_checkpoint(db_url):
    url = db_url
    progress = []
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", CRASHING_WRITER, url],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        assert writer.stdout.readline().strip() == "committed"  # its first checkpoint is in
        time.sleep(random.uniform(0.0, 0.2))  # a random kill point in the stream that follows
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()

        store = Store(url)
        snap = store.load_snapshot("crash")
        i = int(snap.last_bar_ts // 60)
        assert snap.cash == i and snap.risk_state == {"i": i}  # all from checkpoint i
        if i % 3:
            assert (snap.position.bars_held, snap.position.state) == (i, {"m": {"i": i}})
        else:
            assert snap.position is None
        assert len(store.trades("crash")) == i // 3
        assert store.equity_curve("crash")[-1] == (i * 60.0, float(i))
        assert len(store.equity_curve("crash")) == len(store.orders("crash")) == i
        assert snap.pending_orders[-1].client_order_id == f"o{i}"
        store.close()
        progress.append(i)
    assert progress == sorted(set(progress)) and progress[0] > 0  # every writer added some
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- bots, risk state, events ----------------------------------------------------------------------
def test_registering_again_keeps_the_creation_time_and_updates_the_start(open_store, db_url,
                                                                          raw_engine):
    store = open_store()
    store.register_bot(BOT, "config/trading/0001.json", "first")
    store.register_bot(BOT, "config/trading/0001.json", "second")
    with raw_engine(db_url).connect() as conn:
        rows = conn.exec_driver_sql("SELECT description, created_at, started_at FROM bots").all()
    assert len(rows) == 1 and rows[0][0] == "second" and rows[0][1] <= rows[0][2]


def test_a_risk_state_saved_by_another_process_is_what_the_bot_loads(open_store):
    bot = open_store()
    tripped = RiskState(kill_switch=True, kill_reason="drawdown 12%", peak_equity=11_000.0)
    bot.checkpoint(BOT, **bar(T0, risk_state=tripped.to_dict()))
    cli = open_store()  # `tradingbot reset-kill-switch` opens its own store
    cleared = RiskState.from_dict(cli.load_risk_state(BOT))
    cleared.kill_switch, cleared.kill_reason = False, ""
    cli.save_risk_state(BOT, cleared.to_dict())
    assert bot.load_snapshot(BOT).risk_state == cleared.to_dict()
    assert cli.load_risk_state("never-ran") is None
    cli.save_risk_state("never-ran", {"kill_switch": False})  # no bots row needed first
    assert cli.load_risk_state("never-ran") == {"kill_switch": False}


def test_events_are_listed_in_order_and_by_kind(open_store):
    store = open_store()
    store.register_bot(BOT, None, "")
    error = ErrorEvent(time=at(T0), message="venue timeout", source="binance")
    kill = KillSwitchEvent(time=at(T0 + 60), reason="drawdown", drawdown_pct=12.5)
    store.record_event(BOT, error)
    store.record_event(BOT, kill)
    assert store.events(BOT) == [error.to_dict(), kill.to_dict()]
    assert store.events(BOT, kind="kill_switch") == [kill.to_dict()]
    assert store.events("other") == []


def test_background_wal_leaves_folding_the_log_to_flush_wal(sqlite_url):
    db_url = sqlite_url
    store = Store(db_url, background_wal=True)
    try:
        store.register_bot(BOT, None, "wal")
        for i in range(300):
            store.checkpoint(BOT, **bar(T0 + 60 * i, positions={"BTCUSDT": open_trade(T0)}))
        main_file = Path(make_url(db_url).database)

        def bars_in_main_file() -> int:  # the database file alone, ignoring the write-ahead log
            con = sqlite3.connect(f"file:{main_file}?immutable=1", uri=True)
            try:
                return con.execute("SELECT count(*) FROM equity").fetchone()[0]
            except sqlite3.OperationalError:  # not even the tables are folded in yet
                return 0
            finally:
                con.close()

        assert bars_in_main_file() == 0  # committed, but still only in the log
        store.flush_wal()  # what the bot's I/O thread does every few seconds
        assert bars_in_main_file() == 300
    finally:
        store.close()
    reopened = Store(db_url)
    try:
        assert reopened.load_snapshot(BOT).last_bar_ts == T0 + 60 * 299
    finally:
        reopened.close()


def test_flush_wal_keeps_the_log_bounded_while_bars_are_committed_back_to_back(sqlite_url,
                                                                                monkeypatch):
    import threading

    from trading.persistence import wal as wal_module

    monkeypatch.setattr(wal_module, "WAL_MAX_FRAMES", 50)
    wal = Path(make_url(sqlite_url).database + "-wal")
    store = Store(sqlite_url, background_wal=True)
    done = threading.Event()
    sizes: list[int] = []

    def fold_in_background() -> None:  # as the bot's I/O thread does
        while not done.is_set():
            store.flush_wal()
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.01)

    folder = threading.Thread(target=fold_in_background)
    folder.start()
    try:
        store.register_bot(BOT, None, "wal")
        for i in range(2000):
            store.checkpoint(BOT, **bar(T0 + 60 * i, positions={"BTCUSDT": open_trade(T0)}))
    finally:
        done.set()
        folder.join(timeout=10)
        store.close()
    assert sizes and min(sizes) == 0  # the log was truncated, not left to grow
    assert max(sizes) < 5_000_000


def test_a_failed_checkpoint_does_not_stop_the_next_one_on_the_same_store(open_store):
    store = open_store()
    store.checkpoint(BOT, **bar(T0))
    with pytest.raises(StoreError):
        store.checkpoint(BOT, **bar(T0 + 60, trades=[closed_trade(T0, T0 + 60, reason=None)]))
    store.checkpoint(BOT, **bar(T0 + 120, cash=9_000.0))
    assert store.load_snapshot(BOT).cash == 9_000.0
    assert store.equity_curve(BOT) == [(T0, 10_000.0), (T0 + 120, 10_000.0)]


def test_checkpoints_from_another_thread_are_committed_too(open_store):
    import threading

    store = open_store()
    store.checkpoint(BOT, **bar(T0))  # this thread keeps its connection for the bars
    other = threading.Thread(target=store.checkpoint, args=(BOT,), kwargs=bar(T0 + 60, cash=7.0))
    other.start()
    other.join(10)
    store.checkpoint(BOT, **bar(T0 + 120, cash=8.0))
    assert [ts for ts, _ in store.equity_curve(BOT)] == [T0, T0 + 60, T0 + 120]
    assert store.load_snapshot(BOT).cash == 8.0

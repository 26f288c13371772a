"""A bot that cannot renew its lease, run as a user runs it (a subprocess on PostgreSQL).

Another connection holds the bot's row of ``leases`` locked (``SELECT ... FOR UPDATE`` in an open
transaction), as an operator's stuck psql session or a hung tool would. Every renewal then waits
for the lock until the database's lock timeout: the bot must hold its entries at once, go on with
its bars and heartbeats meanwhile, and exit 3 before its lease can expire, so that a second
instance taking the bot over after the ttl never trades alongside it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from bot_workspace import SAMPLE, BotWorkspace, replayed_trades, wait_until
from feeds.csv_bars import load_bars

pytestmark = pytest.mark.postgres

LOOKBACK = 100  # the demo config's
LIVE_BARS_BEFORE_SIGNAL = 6  # at 1 bar/s: the entry signal comes seconds after the lock


@pytest.fixture
def ws(tmp_path: Path, pg_url: str):
    workspace = BotWorkspace(tmp_path, db_url=pg_url)
    yield workspace
    workspace.close()


def first_entry_signal_index(ws: BotWorkspace) -> int:
    """The bar whose close gives the first entry signal of the demo strategy on the sample."""
    ws.write_config()
    bars = load_bars(SAMPLE)
    first_entry = replayed_trades(ws.config_path, bars, warmup=LOOKBACK)[0][0]
    return int(np.searchsorted(bars.ts, first_entry - 300))  # 5-minute bars: the one before


def status(ws: BotWorkspace) -> dict:
    try:
        return json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    except (OSError, ValueError):  # not written yet, or being replaced
        return {}


def test_a_bot_whose_lease_row_is_locked_holds_entries_and_exits_3_before_the_lease_expires(ws):
    signal_index = first_entry_signal_index(ws)
    # heartbeat 0.2 s: the lease is renewed every 0.2 s and expires 15 s (its minimum) after the
    # last renewal; the first live bars come before the entry signal, one a second
    ws.write_config(data={"speed": 1, "lookback_bars": signal_index - LIVE_BARS_BEFORE_SIGNAL},
                    logging={"heartbeat_seconds": 0.2})
    log_file = ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log"
    locker = create_engine(ws.db_url)
    proc = ws.start()
    try:
        assert wait_until(lambda: bool(ws.query("SELECT 1 FROM leases")), proc)
        with locker.connect() as conn:
            row = conn.exec_driver_sql("SELECT expires_at, clock_timestamp() FROM leases "
                                       "WHERE bot_id = %s FOR UPDATE", (ws.bot_id,)).one()
            expires_at, locked_at = row  # final: nobody can renew the row while it is locked
            # bars and heartbeats go on while every renewal waits for the lock
            assert wait_until(lambda: (ws.last_bar_ts() or 0) > 0, proc)
            bar_then, beat_then = ws.last_bar_ts(), status(ws).get("updated_at")
            assert wait_until(lambda: (ws.last_bar_ts() or 0) > bar_then
                              and status(ws).get("updated_at", "") > (beat_then or ""), proc)
            _, err = proc.communicate(timeout=120)
            ended_before = conn.exec_driver_sql("SELECT clock_timestamp()").scalar()
            conn.rollback()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
        locker.dispose()
    log = log_file.read_text()
    assert proc.returncode == 3, err
    assert ended_before < expires_at, (f"the bot was still running when its lease expired "
                                       f"(locked at {locked_at}, expired at {expires_at})")
    assert f"bot {ws.bot_id} stopped: its lease could not be renewed" in err
    assert "start the bot again" in err and "Traceback" not in err
    assert "did not stop in time" not in log  # out by the normal shutdown, not the last resort
    assert "lock timeout" in log  # why the renewals failed, for the person reading the log
    assert "entry refused by lease" in log and "no new entries" in log
    assert " ENTRY " not in log, "the bot entered a trade while it could not prove its lease"
    assert not ws.query("SELECT 1 FROM orders WHERE purpose = 'entry'")
    assert ws.query("SELECT count(*) FROM equity")[0][0] > 1  # it did trade bars meanwhile
    assert status(ws)["state"] == "error"

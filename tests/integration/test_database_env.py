"""The database URL from the environment, so no password is on the command line (where
``/proc/PID/cmdline`` shows it to every user): a bot run as a user runs it, on PostgreSQL.

The local server trusts every login, so the password in these URLs is never checked: what the test
proves is that the bot uses the URL of the environment and that its password appears in none of
its output. tests/unit/test_database_url.py shows libpq sending PGPASSWORD and ~/.pgpass."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot_workspace import BotWorkspace, wait_until

pytestmark = pytest.mark.postgres

PASSWORD = "db-pw-Xq72-never-logged"


@pytest.fixture
def ws(tmp_path: Path, pg_url: str, monkeypatch):
    """A bot whose config names no database; TRADINGBOT_DATABASE_URL names ``pg_url``, with a
    password, and DATABASE_URL another database (which must not be used)."""
    workspace = BotWorkspace(tmp_path)
    workspace.write_config(data={"speed": 200}, logging={"heartbeat_seconds": 0.2})
    with_password = make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("TRADINGBOT_DATABASE_URL", with_password)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'generic.sqlite'}")
    workspace.db_url = pg_url  # where the test reads the bot's state
    yield workspace
    workspace.close()


def test_the_bot_uses_the_database_url_of_the_environment_and_never_shows_its_password(ws):
    proc = ws.start()
    try:
        assert wait_until(ws.has_open_position, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert ws.query("SELECT bot_id FROM bots") == [("7001",)]
    assert not (ws.root / "data" / "7001.sqlite").exists()
    assert not (ws.root / "generic.sqlite").exists()
    log = (ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log").read_text()
    assert "database URL from TRADINGBOT_DATABASE_URL" in log
    status = (ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text()
    for text in (out, err, log, status):
        assert PASSWORD not in text
    assert "postgres:***@127.0.0.1" in out  # the run summary names the database, masked

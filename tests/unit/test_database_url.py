"""Which database a bot uses (--db > TRADINGBOT_DATABASE_URL > DATABASE_URL > database.url >
the default), and a PostgreSQL password that never has to be in the URL.

The password tests use a loopback fake server that asks for a password (the local PostgreSQL
trusts every login, so it never asks): they prove which password libpq sends for a URL without
one, from PGPASSWORD or a .pgpass file, and that no error message repeats it. They do not prove
that a real server accepts it; tests/integration/test_database_env.py runs the bot on the real
server with the URL in the environment."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from fakes.pg_auth_server import FakePgAuth
from trading.config.database_url import database_url_from_environment
from trading.config.loading import load_config
from trading.core.errors import StoreError
from trading.persistence.repository import Store
from trading.runtime.bot import LiveTradingBot

CONFIG_URL = "sqlite:///from-the-config.sqlite"
PASSWORD = "pg-pw-Kd93-never-logged"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "0001.json"
    doc = json.loads((Path(__file__).resolve().parents[2] / "config" / "trading" /
                      "0001.json").read_text())
    doc.pop("$schema", None)
    doc["database"] = {"url": CONFIG_URL}
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("env, expected, source", [
    ({}, CONFIG_URL, "database.url"),
    ({"DATABASE_URL": "postgresql://app@db/generic"}, "postgresql://app@db/generic",
     "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://app@db/generic",
      "TRADINGBOT_DATABASE_URL": "postgresql://bot@db/trading"}, "postgresql://bot@db/trading",
     "TRADINGBOT_DATABASE_URL"),
    ({"DATABASE_URL": "", "TRADINGBOT_DATABASE_URL": " "}, CONFIG_URL, "database.url"),
])
def test_the_environment_wins_over_the_config(config_file, monkeypatch, env, expected, source):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_config(config_file)
    assert (config.database_url, config.database_url_from) == (expected, source)


def test_db_on_the_command_line_wins_over_the_environment(config_file, monkeypatch):
    monkeypatch.setenv("TRADINGBOT_DATABASE_URL", "postgresql://bot@db/trading")
    bot = LiveTradingBot(load_config(config_file), db_url="sqlite:///from-the-command-line.sqlite")
    assert bot.db_url == "sqlite:///from-the-command-line.sqlite"
    assert LiveTradingBot(load_config(config_file)).db_url == "postgresql://bot@db/trading"


def test_without_any_the_default_is_the_bots_sqlite_file(config_file, tmp_path):
    doc = json.loads(config_file.read_text())
    del doc["database"]
    config_file.write_text(json.dumps(doc))
    config = load_config(config_file)
    assert config.database_url_from == "the default"
    assert config.database_url.endswith("/data/0001.sqlite")


def test_only_the_two_names_count():
    assert database_url_from_environment({"PGDATABASE": "x", "DB_URL": "y"}) is None


@pytest.fixture
def fake_pg():
    server = FakePgAuth().start()
    yield server
    server.stop()


def _open_without_password(fake: FakePgAuth, caplog) -> str:
    """Open a store on the fake server with a URL that holds no password; the error's text."""
    url = f"postgresql://bot@127.0.0.1:{fake.port}/trading"
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as refused:
        Store(url)
    assert fake.login.wait(10)
    return str(refused.value)


def test_libpq_sends_pgpassword_for_a_url_without_password(fake_pg, monkeypatch, tmp_path,
                                                           caplog):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    message = _open_without_password(fake_pg, caplog)
    assert fake_pg.logins == [("bot", "trading", PASSWORD)]
    assert "password authentication failed" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text


def test_libpq_reads_the_password_from_a_pgpass_file(fake_pg, monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{fake_pg.port}:trading:bot:{PASSWORD}\n")
    os.chmod(pgpass, 0o600)  # libpq ignores a file others may read
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    message = _open_without_password(fake_pg, caplog)
    assert fake_pg.logins == [("bot", "trading", PASSWORD)]
    assert PASSWORD not in message and PASSWORD not in caplog.text


def test_a_password_in_the_url_is_never_in_the_error(fake_pg, caplog):
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{fake_pg.port}/trading"
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as refused:
        Store(url)
    assert fake_pg.logins == [("bot", "trading", PASSWORD)]
    assert PASSWORD not in str(refused.value) and PASSWORD not in caplog.text
    assert "bot:***@127.0.0.1" in str(refused.value)

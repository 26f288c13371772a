"""Shared fixtures: database URLs for the store's tests, and the loopback fakes (Telegram Bot API,
SMTP with STARTTLS, webhook receiver, TWS / IB Gateway; this folder is on ``sys.path``, so tests
import ``fakes.*``).

Databases: a SQLite file and a fresh PostgreSQL database per test.

``db_url`` runs a test once per backend. The PostgreSQL case creates a database with a unique name
on the server of ``TRADINGBOT_TEST_PG_URL`` (default: user postgres on 127.0.0.1:5432, the trust
set-up of a developer machine and CI) and drops it afterwards. Without a reachable server the
PostgreSQL cases are skipped, saying why; with ``TRADINGBOT_REQUIRE_PG=1`` (CI sets it) they fail.
"""
from __future__ import annotations

import os
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from fakes.smtp_server import FakeSMTP
from fakes.telegram_api import FakeTelegram
from fakes.tws import FakeTWS
from fakes.webhook_server import FakeWebhook
from fake_secrets import SMTP_PASSWORD, SMTP_USER, TELEGRAM_TOKEN

PG_URL_ENV = "TRADINGBOT_TEST_PG_URL"
REQUIRE_PG_ENV = "TRADINGBOT_REQUIRE_PG"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_DB_PREFIX = "tradingbot_test_"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (TRADINGBOT_TEST_PG_URL)")


def _server_url() -> URL:
    """The server to create test databases on (its own database is only used to connect)."""
    url = make_url(os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


@lru_cache(maxsize=1)
def _unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can (asked once per session)."""
    url = _server_url()
    shown = url.render_as_string(hide_password=True)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except ImportError as exc:
        return f"the PostgreSQL driver is not installed ({exc}); pip install -e '.[dev]'"
    except SQLAlchemyError as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return (f"no PostgreSQL answers at {shown} ({first_line}); start one or set "
                f"{PG_URL_ENV}")
    return None


def _require_pg() -> None:
    reason = _unreachable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_PG_ENV) == "1":
        pytest.fail(f"{REQUIRE_PG_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(autouse=True)
def no_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's DATABASE_URL (or TRADINGBOT_DATABASE_URL) must not redirect the tests' bots,
    nor the bots they start as subprocesses: a test that wants one sets it."""
    for name in ("TRADINGBOT_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of a new, empty PostgreSQL database, dropped when the test ends."""
    _require_pg()
    server = _server_url()
    name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:  # FORCE: a connection the test leaked must not block this
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a SQLite file (not created yet) in a folder that does not exist yet."""
    return f"sqlite:///{tmp_path / 'data' / 'bot.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs once on SQLite and once on a fresh PostgreSQL database."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def telegram_fake() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def webhook_fake() -> Iterator[FakeWebhook]:
    fake = FakeWebhook().start()
    yield fake
    fake.stop()


@pytest.fixture
def smtp_fake(tmp_path: Path) -> Iterator[FakeSMTP]:
    fake = FakeSMTP(tmp_path, SMTP_USER, SMTP_PASSWORD).start()
    yield fake
    fake.stop()


@pytest.fixture
def tws() -> Iterator[FakeTWS]:
    """A fake TWS on a free loopback port (paper account DU1234567); see ``fakes.tws``."""
    fake = FakeTWS().start()
    yield fake
    fake.stop()

"""Bringing a database to the newest schema revision (Alembic, ``migrations/``).

A store opening a database that is up to date only reads its revision. One that is behind is
upgraded in one transaction, under a lock, so two bots started at the same moment on a new
database do not both create it: SQLite takes its write lock at ``BEGIN IMMEDIATE``, PostgreSQL a
transaction-level advisory lock; the second one finds the work done when it gets the lock.

SQLite rebuilds a table to change a column (Alembic's batch mode: copy, drop, rename). Dropping
``bots`` with foreign keys enforced would cascade and delete every order and trade, so foreign
keys are off while the revisions run and checked before the transaction commits.
"""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from trading.core.errors import StoreError
from trading.persistence.database import SQLITE_BEGIN, cannot_open, damaged

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PG_MIGRATION_LOCK = 7_364_421_001  # pg_advisory_xact_lock key of schema upgrades (any constant)
MIGRATION_LOCK_TIMEOUT_MS = 300_000  # how long an upgrade waits for another one (or a lock)


def migrate(engine: Engine, url: str) -> None:
    """Bring the schema to the newest revision; refuse a database made by a newer version.

    ``url`` is the masked URL used in messages.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    script = ScriptDirectory.from_config(config)
    try:
        with engine.connect() as conn:
            with conn.begin():
                current = _current_revisions(conn, script, url)
            if current != set(script.get_heads()):
                _upgrade(conn, config, script, url)
    except (OSError, SQLAlchemyError, CommandError, UnicodeDecodeError) as exc:
        raise cannot_open(url, exc) from exc


def _current_revisions(conn: Connection, script: ScriptDirectory, url: str) -> set[str]:
    current = set(MigrationContext.configure(conn).get_current_heads())
    if not current and inspect(conn).has_table("bots"):
        raise damaged(url, "it has the bot's tables but no schema revision (its alembic_version "
                           "table is gone), so there is no telling which schema it has")
    unknown = sorted(current - {s.revision for s in script.walk_revisions()})
    if unknown:
        raise StoreError(
            f"the database {url} has schema revision {', '.join(unknown)}, which this version "
            f"of tradingbot does not know (newest here: {script.get_current_head()}); it was "
            "written by a newer tradingbot: upgrade tradingbot or point database.url elsewhere")
    return current


def _upgrade(conn: Connection, config: Config, script: ScriptDirectory, url: str) -> None:
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        _sqlite_foreign_keys(conn, enforced=False)
    try:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # a schema upgrade may rewrite big tables and wait for another bot's upgrade:
                # longer bounds than a running bot's statements get (trading.persistence.database)
                conn.execute(text(f"SET LOCAL lock_timeout = {MIGRATION_LOCK_TIMEOUT_MS}"))
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            # under the lock: another process may have upgraded it while this one waited
            if _current_revisions(conn, script, url) == set(script.get_heads()):
                return
            log.info("migrating %s to schema revision %s", url, script.get_current_head())
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if sqlite:
                _check_foreign_keys(conn, url)
    finally:
        if sqlite:
            conn.execution_options(**{SQLITE_BEGIN: "BEGIN"})
            _sqlite_foreign_keys(conn, enforced=True)


def _sqlite_foreign_keys(conn: Connection, *, enforced: bool) -> None:
    # the pragma is a no-op inside a transaction, so it goes to the driver between transactions
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _check_foreign_keys(conn: Connection, url: str) -> None:
    orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if orphans:
        tables = sorted({row[0] for row in orphans})
        raise StoreError(f"migrating {url} would leave {len(orphans)} row(s) in "
                         f"{', '.join(tables)} that refer to a missing bot; the database was left "
                         "as it was: restore it from a backup or remove those rows")

"""Opening a database: the URL a user wrote, the driver it needs, and SQLite's tuning.

``postgres://`` (as Heroku and many hosting panels write it) is taken as ``postgresql://``; a
PostgreSQL URL without a driver uses psycopg 3 (the ``postgres`` extra) unless only psycopg2 is
installed. SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed process
and costs no fsync; ``journal_size_limit`` cuts its write-ahead log back to ``WAL_SIZE_LIMIT``
when it restarts (``trading.persistence.wal`` keeps it from growing while the bot writes).

Every wait on the database is bounded, so a row someone else holds locked (or a server that does
not answer) fails a write with an error instead of freezing the bot: PostgreSQL connections give
up connecting after ``PG_CONNECT_TIMEOUT`` seconds, notice a server gone from the network within
seconds (``PG_TCP_BOUNDS``) and run with ``lock_timeout`` and ``statement_timeout`` set (a URL's
own ``options=-c ...`` and libpq parameters win over these); SQLite waits at most
``SQLITE_BUSY_SECONDS`` for another connection's write lock.
"""
from __future__ import annotations

import importlib.util
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from trading.core.errors import DamagedDatabase, DiskFull, NoDatabase, StoreError
from trading.core.redaction import SECRET_QUERY_KEYS

POSTGRES_DRIVER = "psycopg"  # psycopg 3, installed by the ``postgres`` extra
SQLITE_BEGIN = "tradingbot_sqlite_begin"  # execution option: the BEGIN statement to use
WAL_SWITCH_SECONDS = 30.0  # how long a new connection waits for another to finish creating the file
WAL_SWITCH_PAUSE = 0.05
SQLITE_BUSY_SECONDS = 5.0  # how long a statement waits for another connection's write lock
PG_CONNECT_TIMEOUT = 10  # seconds (libpq's connect_timeout)
PG_LOCK_TIMEOUT_MS = 5_000  # a statement waiting this long for a row or table lock fails
PG_STATEMENT_TIMEOUT_MS = 30_000  # a statement running this long is cancelled by the server
PG_TCP_BOUNDS = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                 "keepalives_count": 3, "tcp_user_timeout": 20_000}  # libpq's names; seconds, ms
WAL_SIZE_LIMIT = 1024 * 1024  # bytes the log file keeps once a fold has restarted it


def open_engine(url: str, *, background_wal: bool = False,
                create: bool = True) -> tuple[Engine, str]:
    """An engine for ``url`` and the URL with its password masked (safe to log).

    ``background_wal``: SQLite only; the connections never fold the write-ahead log themselves
    (see ``Store.flush_wal``). ``create=False``: a SQLite file that does not exist is a
    ``NoDatabase`` error instead of a new, empty database (for commands that only read or fix one).
    """
    try:
        parsed = normalise_url(make_url(url))
    except ArgumentError as exc:
        # the text is not echoed: it may hold a password
        raise StoreError("database.url is not a SQLAlchemy URL "
                         "(expected e.g. sqlite:///data/0001.sqlite)") from exc
    shown = mask_url(parsed)
    if not create and _missing_sqlite_file(parsed):
        raise NoDatabase(f"there is no database at {shown} (looked for "
                         f"{Path(parsed.database or '').resolve()}): has the bot run from this "
                         "folder? run the command from the folder the bot runs in, or pass --db")
    try:
        if parsed.get_backend_name() == "sqlite":
            _create_sqlite_folder(parsed)
        engine = create_engine(parsed, connect_args=_bounded_waits(parsed))
    except ImportError as exc:
        hint = (" (for PostgreSQL: pip install 'tradingbot[postgres]')"
                if parsed.get_backend_name() == "postgresql" else "")
        raise StoreError(f"the database driver for {shown} is not installed ({exc}); install "
                         f"the driver package for this kind of URL{hint}") from exc
    except (OSError, SQLAlchemyError) as exc:
        raise cannot_open(shown, exc) from exc
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, background_wal)
    return engine, shown


def normalise_url(url: URL) -> URL:
    """``postgres[+driver]://`` as ``postgresql[+driver]://``; a driverless PostgreSQL URL gets
    psycopg 3 unless only psycopg2 (SQLAlchemy's default) is installed."""
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("postgres", "postgresql"):
        return url
    if not driver:
        has_psycopg2_only = (importlib.util.find_spec("psycopg") is None
                             and importlib.util.find_spec("psycopg2") is not None)
        driver = "psycopg2" if has_psycopg2_only else POSTGRES_DRIVER
    return url.set(drivername=f"postgresql+{driver}")


def mask_url(url: URL | str) -> str:
    """The URL with every credential masked: the password and any query parameter whose name
    says it is a secret (``?password=...``). Safe to print and log."""
    parsed = make_url(url) if isinstance(url, str) else url
    hidden = {k: "***" for k in parsed.query if any(w in k.lower() for w in SECRET_QUERY_KEYS)}
    shown = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return shown.replace("%2A%2A%2A", "***")  # the query's mask, not URL-encoded


def is_in_memory(url: str) -> bool:
    """True for an in-memory SQLite URL (``sqlite://``, ``sqlite:///:memory:``): it keeps nothing."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
        or parsed.query.get("mode") == "memory")


# "could not decode": a text cell whose bytes are no longer UTF-8 (sqlite3 says so when reading)
FULL_WORDS = ("database or disk is full", "no space left on device", "disk quota exceeded")
DAMAGED_WORDS = ("file is not a database", "malformed", "corrupt", "disk image", "could not decode")


def reason(exc: BaseException) -> str:
    """The driver's own message when there is one (SQLAlchemy's adds SQL and a docs link)."""
    return str(getattr(exc, "orig", None) or exc).strip()


def looks_damaged(exc: BaseException) -> bool:
    """Whether a driver error says the file or a stored value is damaged."""
    return isinstance(exc, UnicodeDecodeError) or any(w in reason(exc).lower() for w in DAMAGED_WORDS)


def is_full(exc: BaseException) -> bool:
    """Whether a driver error says the disk (or the database's size limit) is full."""
    return any(w in reason(exc).lower() for w in FULL_WORDS)


def database_full(url: str, what: str, exc: BaseException) -> DiskFull:
    """The error for a database write refused for want of space."""
    return DiskFull(f"the disk is full: {what} in {url} failed ({reason(exc)}); free space on "
                    "the disk that holds the database and restart the bot")


def cannot_open(url: str, exc: BaseException) -> StoreError:
    """The error for a database that cannot be opened or migrated, naming it and what to check."""
    why = reason(exc)
    if is_full(exc):
        return database_full(url, "opening the database", exc)
    if looks_damaged(exc):
        return damaged(url, f"it cannot be read ({why})")
    return StoreError(f"cannot open or migrate the database {url}: {reason(exc)}; check that "
                      "its folder exists and is writable (or the server is up and the database "
                      "exists), or set database.url")


def damaged(url: str, what: str, bot_id: str | None = None) -> DamagedDatabase:
    """The error for a corrupt database or an inconsistent state, with the ways to recover."""
    reset = f"'tradingbot reset {bot_id}'" if bot_id else "'tradingbot reset BOT'"
    return DamagedDatabase(f"the database {url} is damaged: {what}. The bot will not trade on it. "
                           f"Restore the database from a backup, or archive this state with {reset} "
                           "to start over")


def check_integrity(engine: Engine, url: str) -> None:
    """SQLite's own page check (``PRAGMA quick_check``); raises DamagedDatabase when it fails."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
    except (SQLAlchemyError, UnicodeDecodeError) as exc:
        raise cannot_open(url, exc) from exc
    if found != ["ok"]:
        raise damaged(url, "SQLite's integrity check fails: " + "; ".join(found))


def _bounded_waits(url: URL) -> dict[str, Any]:
    """Driver arguments that bound every wait: see the module's docstring."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"timeout": SQLITE_BUSY_SECONDS}
    if backend != "postgresql":
        return {}
    ours = f"-c lock_timeout={PG_LOCK_TIMEOUT_MS} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}"
    theirs = url.query.get("options")  # later -c settings win: the URL's own come last
    args: dict[str, Any] = {"options": f"{ours} {theirs}" if isinstance(theirs, str) else ours}
    if "connect_timeout" not in url.query:
        args["connect_timeout"] = PG_CONNECT_TIMEOUT
    # a server that vanished from the network (no reset, no answer) is noticed in seconds, not
    # after the system's TCP retransmissions (~15 minutes)
    for name, value in PG_TCP_BOUNDS.items():
        if name not in url.query:
            args[name] = value
    return args


def _missing_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    return not Path(database.removeprefix("file:").split("?")[0]).expanduser().is_file()


def _create_sqlite_folder(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode, waiting (bounded) while another process holds it.

    Switching a new file's journal mode needs it alone: when several bots open a new database at
    the same moment, SQLite answers "database is locked" at once instead of waiting its busy
    timeout, so the switch is retried until the other one has finished.
    """
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_SWITCH_PAUSE)


def _tune_sqlite(engine: Engine, background_wal: bool) -> None:
    """WAL + synchronous=NORMAL on every connection, and real transactions for reads too."""
    # journal_size_limit: a log restarted after a complete fold is cut back to this size (without
    # it the file keeps the largest size it ever reached)
    pragmas = ["synchronous=NORMAL", "foreign_keys=ON", f"journal_size_limit={WAL_SIZE_LIMIT}"]
    if background_wal:
        pragmas.append("wal_autocheckpoint=0")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3 would BEGIN only before writes; SQLAlchemy emits BEGIN itself (below) so the
        # reads of load_snapshot share one snapshot and migrations' DDL is transactional
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor)
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # a transaction that will write before it reads asks for the write lock at once
        # (BEGIN IMMEDIATE): a deferred one that read first cannot wait for it in WAL mode.
        # Sent on the driver's connection: through exec_driver_sql it cost as much as a bar's
        # checkpoint statements together (one transaction per bar)
        begin = conn.get_execution_options().get(SQLITE_BEGIN, "BEGIN")
        try:
            conn.connection.driver_connection.execute(begin)
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it
            raise DBAPIError.instance(begin, (), exc, sqlite3.Error) from exc

"""A stop runs every step whatever one of them meets, and a full disk (an OSError ENOSPC, or
SQLite's "database or disk is full") becomes one error for people: ``DiskFull``."""
from __future__ import annotations

import errno
import logging

import pytest
from sqlalchemy import event

from trading.core.errors import DiskFull, StoreError
from trading.core.events import ErrorEvent
from trading.core.timeutil import utcnow
from trading.persistence.repository import Store
from trading.runtime.logging_setup import RotatingLogFile
from trading.runtime.shutdown import ShutdownSteps, disk_full

BOT = "0001"


def no_space(path: str = "logs/json/0001/events.jsonl") -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


def test_one_failing_step_never_skips_the_others_and_a_full_disk_is_told_once():
    done, told = [], []
    steps = ShutdownSteps(on_disk_full=told.append)

    def full_journal() -> None:
        raise no_space()

    def broken() -> None:
        raise RuntimeError("venue socket already closed")

    steps.run("announcing the stop", full_journal)
    steps.run("closing the venue", broken)
    steps.run("writing the status file", done.append, "status")
    steps.run("releasing the lease", done.append, "lease")
    steps.run("closing the database", done.append, "database")
    assert done == ["status", "lease", "database"]
    (message,) = told
    assert message.startswith("the disk is full: stopping the bot (announcing the stop) "
                              "logs/json/0001/events.jsonl failed")
    assert message.endswith("free space on that disk and restart the bot")
    assert isinstance(steps.failure, DiskFull) and str(steps.failure) == message


def test_a_full_disk_is_found_behind_the_error_that_wrapped_it():
    try:
        try:
            raise no_space("data/0001.sqlite-wal")
        except OSError as exc:
            raise StoreError("checkpoint failed") from exc
    except StoreError as wrapped:
        found = disk_full(wrapped, "writing the database")
    assert found is not None and "data/0001.sqlite-wal" in str(found)
    assert disk_full(OSError(errno.EACCES, "Permission denied"), "writing") is None


def test_sqlite_refusing_a_write_for_want_of_space_is_a_disk_full_error(sqlite_url):
    store = Store(sqlite_url)
    try:
        store.register_bot(BOT, None, "full")
        store.close()  # the next connections get the limit: the file may not grow any more

        @event.listens_for(store._engine, "connect")
        def no_more_pages(dbapi_connection, _record):
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

        with pytest.raises(DiskFull, match="the disk is full: .*free space .* restart the bot"):
            for i in range(1000):  # each event a new row: the file must grow
                store.record_event(BOT, ErrorEvent(time=utcnow(), message="x" * 4000, source="t"))
    finally:
        store.close()


def test_a_log_file_on_a_full_disk_tells_once_and_drops_its_lines_quietly(capsys):
    handler = RotatingLogFile("/dev/full", encoding="utf-8")  # every write: ENOSPC
    told: list[str] = []
    handler.on_disk_full = told.append
    logger = logging.getLogger("test.full_disk")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for i in range(3):
            logger.warning("line %d", i)
    finally:
        logger.removeHandler(handler)
        handler.stream = None  # its buffer cannot be flushed to /dev/full
        handler.close()
    (message,) = told
    assert message.startswith("the disk is full: writing the log file /dev/full failed")
    assert "Logging error" not in capsys.readouterr().err

"""SQLite's write-ahead log kept small while a bot commits bar after bar (``background_wal``).

The bot's writer never folds the log into the database itself (that fsync can stall a live bar
for ~100 ms); the I/O thread's worker calls ``Store.flush_wal`` on a timer and every
``FOLD_EVERY_COMMITS`` per-bar commits. Passive folds never wait, but SQLite restarts the log
(writes it from its start again) only when a writer begins while the whole log is folded, which
never happens while bars are committed back to back: one fast run grew the log to 76 MiB beside a
0.6 MiB database, and the bot could not start again on a 64 MiB disk. So:

- past ``WAL_MAX_FRAMES`` a fold truncates the log, holding the store's write lock so that this
  process starts no write meanwhile (the truncation cannot be starved by the next bar);
- a writer ``FOLD_BEHIND_COMMITS`` commits ahead of the last fold (a disk slower than the bars)
  waits for the next fold, at most ``FOLD_WAIT_SECONDS``.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, ContextManager

from sqlalchemy import Engine

log = logging.getLogger(__name__)

WAL_MAX_FRAMES = 128  # 512 KiB of log (4 KiB pages): past this a fold truncates it
TRUNCATE_WAIT_MS = 200  # how long a truncation waits for another process's reader
FOLD_EVERY_COMMITS = 50  # per-bar commits (~20 KiB of log each) between two asked-for folds
FOLD_BEHIND_COMMITS = 2 * FOLD_EVERY_COMMITS  # a writer this far ahead waits for a fold
FOLD_WAIT_SECONDS = 10.0


def fold_wal(engine: Engine, writers: ContextManager[Any]) -> None:
    """Fold SQLite's write-ahead log into the database: passive passes, which never wait, and a
    truncation (holding ``writers``, the store's write lock) when the log is still long."""
    conn = engine.raw_connection()  # outside any transaction: a fold needs that
    try:
        cursor = conn.cursor()
        for _ in range(3):  # a second pass only has the frames committed meanwhile
            _busy, log_frames, folded = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if folded >= log_frames:
                break
        if log_frames > WAL_MAX_FRAMES:
            with writers:
                # a reader in another process (a user's shell) can hold it up: wait briefly
                # only, as this process's writer waits too; the next fold tries again
                waited = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
                cursor.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
                try:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    cursor.execute(f"PRAGMA busy_timeout={int(waited)}")
        cursor.close()
    finally:
        conn.close()


class FoldPacer:
    """Counts a store's per-bar commits against its folds: asks for a fold (``on_commits``)
    every ``FOLD_EVERY_COMMITS`` and holds a writer that is too far ahead.

    Inactive (a server database, or SQLite folding its own log) it does nothing; so it does
    with no ``on_commits`` (nobody folds in the background).
    """

    def __init__(self, active: bool) -> None:
        self.active = active
        self.on_commits: Callable[[], None] | None = None  # called on the committing thread
        self.writing = threading.RLock()  # held by each per-bar write, and by a truncation
        self._folded = threading.Condition()
        self._commits = 0  # since the last fold

    def committed(self) -> None:
        """One per-bar commit is done (call outside ``writing``)."""
        ask = self.on_commits
        if ask is None or not self.active:
            return
        with self._folded:
            self._commits += 1
            commits = self._commits
        if commits % FOLD_EVERY_COMMITS == 0:
            ask()
        if commits >= FOLD_BEHIND_COMMITS:
            with self._folded:
                if not self._folded.wait_for(lambda: self._commits < FOLD_BEHIND_COMMITS,
                                             FOLD_WAIT_SECONDS):
                    log.warning("SQLite's write-ahead log was not folded for %d commits (%gs "
                                "waited): bars go on; the log file grows until a fold succeeds",
                                self._commits, FOLD_WAIT_SECONDS)
                    self._commits = 0  # warn again only after as many more

    def folded(self) -> None:
        """A fold ended with the log short or truncated: writers held back go on."""
        with self._folded:
            self._commits = 0
            self._folded.notify_all()

"""Keeping SQLite's write-ahead log small while a bot writes (``trading.persistence.wal``).

A timer folds the log every ``WAL_FLUSH_SECONDS`` and a fast run, which commits faster than the
timer, asks for a fold after many commits; either runs in the I/O thread's worker, never on the
loop that serves the sockets (a fold's fsync can take ~100 ms on a slow disk). A fold that meets
a full disk or a database that can no longer be written stops the bot through its callbacks.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from trading.core.errors import DiskFull, StoreError

log = logging.getLogger(__name__)


class WalUpkeep:
    """Folds ``store``'s log on ``io``'s worker; ``on_disk_full(message)`` and
    ``on_write_failed(message)`` are told when a fold finds the bot cannot write on."""

    def __init__(self, store: Any, io: Any, *, on_disk_full: Callable[[str], None],
                 on_write_failed: Callable[[str], None],
                 stopped: Callable[[], bool]) -> None:
        self.store = store
        self.io = io
        self.on_disk_full = on_disk_full
        self.on_write_failed = on_write_failed
        self.stopped = stopped  # the bot already stops for want of writing: fold no more
        self._queued = False  # a fold waits in the I/O thread's worker

    def fold(self) -> None:
        """Fold the log now (the I/O thread's worker)."""
        if self.stopped():
            return
        try:
            self.store.flush_wal()
        except DiskFull as exc:
            self.on_disk_full(str(exc))
        except StoreError as exc:  # the database can no longer be written: stop, do not trade on
            self.on_write_failed(str(exc))

    def fold_soon(self) -> None:
        """Many bars were committed since the last fold (Cerebro thread): fold in the I/O
        thread's worker, unless a fold already waits there."""
        if self._queued or not self.io.running:
            return
        self._queued = True
        try:
            self.io.run_blocking(self._queued_fold, name="wal fold")
        except RuntimeError:  # the I/O thread is stopping: closing the store folds the log
            self._queued = False

    def _queued_fold(self) -> None:
        self._queued = False
        self.fold()

"""SIGINT and SIGTERM for ``tradingbot run``: a stop request from the first moment on.

Installed before the heavy imports and before anything is built, so a Ctrl+C during start-up
never raises ``KeyboardInterrupt`` in the middle of it (a traceback, a half-built bot). Until a
bot is attached a signal is only remembered, and ``run`` ends before starting the bot (exit 0);
once attached it asks the bot to stop after the bar in hand (exit 0 as well). A second signal
forces the exit at once (130).

The handler writes with ``os.write``: a ``print`` could land inside another write to stderr
and fail as a reentrant call; and it asks the bot to stop from another thread, never taking a
lock the interrupted main thread may hold.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable

from trading.cli.exit_codes import EXIT_FORCED  # imports nothing: this module comes first


class StopSignals:
    """What SIGINT/SIGTERM do in this process; ``received`` names the first one that came."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._count = 0
        self._stop: Callable[[], None] | None = None

    def install(self) -> "StopSignals":
        """Take SIGINT and SIGTERM (from the main thread)."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def attach(self, stop: Callable[[], None]) -> None:
        """From now on a signal calls ``stop``; at once when one already came."""
        self._stop = stop
        if self.received is not None:
            stop()

    def _handle(self, signum: int, _frame: Any) -> None:
        self._count += 1
        name = signal.Signals(signum).name
        if self._count > 1:
            _say("\nforced exit" + ("; the database holds every completed bar\n"
                                    if self._stop is not None else " before the bot started\n"))
            os._exit(EXIT_FORCED)
        self.received = name
        if self._stop is None:
            _say(f"\n{name}: stopping before the bot starts (press Ctrl+C again to force)\n")
            return
        _say(f"\n{name}: stopping after the bar in hand (press Ctrl+C again to force)\n")
        # not here: the handler runs on the main thread between two of its steps, maybe while
        # that thread holds the lock of the feed's queue (inside its get()), which the stop
        # request takes too; a lock that is not reentrant then waits for ever (a run that never
        # stopped on SIGTERM). Another thread waits for it to be let go instead.
        threading.Thread(target=self._stop, name="stop request", daemon=True).start()


def _say(text: str) -> None:
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:  # stderr closed: nothing to tell
        pass


_process: StopSignals | None = None


def install_stop_signals() -> StopSignals:
    """The process's StopSignals, installed on the first call (later calls return the same)."""
    global _process
    if _process is None:
        _process = StopSignals().install()
    return _process

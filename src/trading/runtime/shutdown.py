"""Stopping a bot: every step runs whatever an earlier one raised, and a full disk is told as one.

A disk that fills (under the database, the journal, the log or the status file) must not turn a
stop into a crash: before, an ``OSError`` from the journal escaped the shutdown, the process ended
with exit 1 (which systemd's unit takes for a config error and does not restart), and the lease,
the status file and the database were left as they were. Here each step is tried in turn, a
failure is logged and kept, and the caller raises the first one once all have run.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from trading.core.errors import NO_SPACE, DiskFull, TradingBotError, no_space

log = logging.getLogger(__name__)


def disk_full(exc: BaseException, what: str) -> DiskFull | None:
    """``exc`` as a ``DiskFull`` when it (or what caused it) says there is no space left; the
    message names the file and says what to do. None for any other error."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DiskFull):
            return cause
        if isinstance(cause, OSError) and cause.errno in NO_SPACE:
            return no_space(cause, what)
        cause = cause.__cause__ or cause.__context__
    return None


class ShutdownSteps:
    """Runs the steps of a stop one after another; none is skipped because another failed.

    A step that fails for want of space is handed to ``on_disk_full`` (the bot stops with
    exit 3 and says so); any other failure is logged in full. ``failure`` is the first one.
    """

    def __init__(self, on_disk_full: Callable[[str], None]) -> None:
        self.on_disk_full = on_disk_full
        self.failure: TradingBotError | None = None

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)``; a failure is kept, never raised."""
        try:
            fn(*args)
        except Exception as exc:  # every step runs, whatever this one met
            full = disk_full(exc, f"stopping the bot ({name})")
            if full is not None:
                self.on_disk_full(str(full))
                failure: TradingBotError = full
            else:
                log.error("stopping the bot: %s failed; the other steps still run", name,
                          exc_info=exc)
                failure = exc if isinstance(exc, TradingBotError) else TradingBotError(
                    f"stopping the bot: {name} failed: {type(exc).__name__}: {exc}")
            if self.failure is None:
                self.failure = failure


def shut_down(bot: Any) -> TradingBotError | None:
    """Every step of a ``LiveTradingBot``'s stop, each one whatever the others met; returns the
    first failure (a full disk met by a step that does not raise, such as a publish, too)."""
    steps = ShutdownSteps(on_disk_full=bot.disk_full)
    steps.run("keeping a pause asked last", bot.notifications.finish)
    steps.run("announcing the stop", bot.notifications.stop)
    steps.run("closing the venue", bot.venue_link.close)
    steps.run("stopping the I/O thread", bot.io.stop, 5.0)
    if bot.listener is not None:
        steps.run("reporting refused entries", bot.listener.refusals.ended)
    if bot.owns_bot:  # say how it ended, then let another process have the bot
        steps.run("writing the status file", bot.write_final_status)
        steps.run("releasing the lease", bot.release_lease)
    if bot.journal is not None:
        steps.run("closing the journal", bot.journal.close)
    if bot.store is not None:
        steps.run("closing the database", bot.store.close)
    if bot.lease_keeper is not None:
        steps.run("stopping the lease keeper", bot.lease_keeper.finish)
    if bot.disk_full_reason and not isinstance(steps.failure, DiskFull):
        return DiskFull(bot.disk_full_reason)
    return steps.failure

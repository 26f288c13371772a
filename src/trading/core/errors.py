"""The project's exception hierarchy.

Every error a user can cause or meet carries a message written for a person: what was wrong,
where (file, JSON path, symbol), and what to do about it. CLIs print these messages, never a
traceback.
"""
from __future__ import annotations

import errno

from trading.core.text import printable

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # the OSError numbers of a full disk (or quota)


class TradingBotError(Exception):
    """Base of every error the bot raises on purpose; its message is always printable."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(printable(str(message)), *args)


class ConfigError(TradingBotError):
    """A config file is unreadable, malformed or inconsistent.

    ``problems`` holds one human-readable line per problem (``file: json.path: message``).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = [printable(p) for p in (problems or [message])]


class UnreadableConfig(ConfigError):
    """The config file is missing, unreadable or not valid JSON (validator exit code 2)."""


class DataError(TradingBotError):
    """Market data is unreadable, unsorted or otherwise unusable (names the file and line)."""


class MixinError(TradingBotError):
    """A mixin name or parameter is unknown, missing or out of range."""


class VenueError(TradingBotError):
    """A trading venue (exchange, broker gateway) refused or failed a request."""


class OrderRejected(VenueError):
    """The venue rejected an order; the bot keeps its state and reports it."""


class StoreError(TradingBotError):
    """The database could not be opened, migrated or written."""


class DamagedDatabase(StoreError):
    """The database is corrupt or holds a state that does not add up; the bot will not trade on
    it. The message says what is wrong and how to recover (a backup, or ``tradingbot reset``)."""


class DiskFull(StoreError):
    """A file the bot keeps (its database, journal, log or status file) could not be written for
    want of space. The bot stops (exit 3, so a service manager restarts it); the message names
    the file and says to free space and restart."""


def no_space(exc: OSError, what: str) -> DiskFull:
    """The ``DiskFull`` for an ``OSError`` ENOSPC (or EDQUOT) met while doing ``what``."""
    where = f" {exc.filename}" if exc.filename else ""
    return DiskFull(f"the disk is full: {what}{where} failed ({exc.strerror or exc}); free space "
                    "on that disk and restart the bot")


class NoDatabase(StoreError):
    """A command that only reads or fixes a bot's database found none (it never creates one)."""


class RiskLimitReached(TradingBotError):
    """A risk rule refused an action; ``rule`` names the rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class LeaseHeld(TradingBotError):
    """Another process runs this bot: it holds the bot's lease and it has not expired.

    The message names the holder (host, pid) and when its lease expires, and what to do;
    ``holder`` is the first part alone, for a command that gives its own advice.
    """

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder or message


class LeaseLost(TradingBotError):
    """This process no longer holds its bot's lease: another took it over (or it was removed).

    The process must stop writing the bot's state at once; the message says who holds it now.
    """

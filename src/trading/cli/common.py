"""What every subcommand shares: exit codes, and turning a config problem into them.

Exit codes, the same for every command: 0 done, 1 the config (or a file it names) is invalid or
unusable, 2 the config file cannot be read as JSON (or a usage error), 3 a failure at run time,
130 forced stop.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from trading.cli.exit_codes import (  # noqa: F401 (re-exported: every command imports them here)
    EXIT_FORCED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_UNREADABLE,
    EXIT_USAGE,
)
from trading.config.models import BotConfig
from trading.core.errors import (
    ConfigError,
    LeaseHeld,
    NoDatabase,
    StoreError,
    UnreadableConfig,
)
from trading.core.version import version

if TYPE_CHECKING:
    from trading.persistence.repository import Store

COMMAND_LEASE_SECONDS = 60.0  # how long a maintenance command may hold a bot's lease
DB_HELP = ("SQLAlchemy database URL (default: TRADINGBOT_DATABASE_URL, DATABASE_URL, then the "
           "config's database.url); a password here is visible to every user in the process "
           "list: set it in the environment or .env, or use PGPASSWORD / ~/.pgpass")


def report_config_error(exc: ConfigError) -> int:
    """Print every problem of ``exc`` on stderr; return the exit code it calls for."""
    print("\n".join(exc.problems), file=sys.stderr)
    return EXIT_UNREADABLE if isinstance(exc, UnreadableConfig) else EXIT_INVALID


def command_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An ``argparse`` parser for one subcommand, with ``--version`` like every command."""
    parser = argparse.ArgumentParser(**kwargs)
    parser.add_argument("--version", action="version", version=f"tradingbot {version()}")
    return parser


def maintenance_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """The parser of a command that works on a stopped bot's database: CONFIG and --db."""
    parser = command_parser(**kwargs)
    parser.add_argument("config", help="0001, 1, 0001.json or a path to a config file")
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    return parser


@contextmanager
def stopped_bot(config: BotConfig, db_url: str | None) -> Iterator[Store]:
    """The bot's store, while this command holds the bot's lease, so the bot cannot start (or be
    running) meanwhile. Never creates a database: ``NoDatabase`` when there is none."""
    # imported here: SQLAlchemy's start-up (~0.25 s) is for the commands that open a database,
    # not for replay, sweep, validate or schema
    from trading.persistence.lease import BotLease  # noqa: PLC0415
    from trading.persistence.repository import Store  # noqa: PLC0415

    store = Store(db_url or config.database_url, create=False)
    try:
        with BotLease(store, config.bot_id, ttl_seconds=COMMAND_LEASE_SECONDS):
            yield store
    finally:
        store.close()


def report_store_error(bot_id: str, exc: StoreError | LeaseHeld, *, command: str) -> int:
    """Print why ``command`` could not work on a bot's database; return its exit code."""
    if isinstance(exc, LeaseHeld):
        print(f"bot {bot_id} is running, so this command changes nothing ({exc.holder}). Stop "
              "the bot first (Ctrl+C or SIGTERM, /stop in Telegram, or systemctl stop "
              f"tradingbot@{bot_id}), then run '{command} {bot_id}' again", file=sys.stderr)
        return EXIT_INVALID
    print(f"bot {bot_id}: {exc}", file=sys.stderr)
    return EXIT_INVALID if isinstance(exc, NoDatabase) else EXIT_RUNTIME

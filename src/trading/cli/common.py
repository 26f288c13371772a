"""What every subcommand shares: exit codes, and turning a config problem into them.

Exit codes, the same for every command: 0 done, 1 the config (or a file it names) is invalid or
unusable, 2 the config file cannot be read as JSON (or a usage error), 3 a failure at run time,
130 forced stop.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from trading.core.errors import ConfigError, UnreadableConfig
from trading.core.version import version

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_FORCED = 130


def report_config_error(exc: ConfigError) -> int:
    """Print every problem of ``exc`` on stderr; return the exit code it calls for."""
    print("\n".join(exc.problems), file=sys.stderr)
    return EXIT_UNREADABLE if isinstance(exc, UnreadableConfig) else EXIT_INVALID


def command_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An ``argparse`` parser for one subcommand, with ``--version`` like every command."""
    parser = argparse.ArgumentParser(**kwargs)
    parser.add_argument("--version", action="version", version=f"tradingbot {version()}")
    return parser

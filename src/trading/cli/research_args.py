"""Arguments ``tradingbot replay`` and ``tradingbot sweep`` share: data, period, warm-up, --set."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from trading.config.overrides import Override, parse_override
from trading.core.errors import ConfigError


def moment(text: str) -> datetime:
    """An ISO 8601 date/time for argparse; naive means UTC."""
    try:
        return datetime.fromisoformat(text)  # naive means UTC (load_bars)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date/time: {text!r} (e.g. 2018-01-15 or 2018-01-15T12:00:00Z)") from None


def bar_count(text: str) -> int:
    """A whole number of bars, 0 or more, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of bars, 0 or more, got {text!r}")
    return value


def override(text: str) -> Override:
    """``PATH=VALUE`` for argparse."""
    try:
        return parse_override(text)
    except ConfigError as exc:  # argparse prints it as a usage error
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--set {text}: ")) from None


def fail(command: str, message: str, code: int, details: list[str] | None = None) -> int:
    """Print ``command: message`` and any further lines on stderr; return ``code``."""
    print(f"{command}: {message}", file=sys.stderr)
    for line in details or []:
        if line != message:
            print(f"  {line}", file=sys.stderr)
    return code


def add_research_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --start, --end, --warmup, --set, --no-progress."""
    parser.add_argument("--data", type=Path, help="CSV of bars (default: the config's data.file_path); "
                        "finer bars are resampled to data.interval")
    parser.add_argument("--start", type=moment, help="first bar time to use, ISO 8601 (UTC if no offset)")
    parser.add_argument("--end", type=moment, help="last bar time to use (inclusive), ISO 8601")
    parser.add_argument("--warmup", type=bar_count, metavar="N",
                        help="feed the first N bars to the indicators only, without trading "
                             "(default: the config's data.lookback_bars)")
    parser.add_argument("--set", dest="overrides", type=override, action="append", default=[],
                        metavar="PATH=VALUE",
                        help="override a config key for this run, validated like the file "
                             "(repeatable), e.g. --set risk_management.stop_loss_pct=3 or "
                             "--set strategy.entry_logic.params.e_rsi_oversold=25")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

"""What every subcommand shares: exit codes, and turning a config problem into them.

Exit codes, the same for every command: 0 done, 1 the config (or a file it names) is invalid or
unusable, 2 the config file cannot be read as JSON (or a usage error), 3 a failure at run time,
130 forced stop.
"""
from __future__ import annotations

import sys

from trading.core.errors import ConfigError, UnreadableConfig

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


class ProgressBar:
    """``replay  42% [#####.....] 420,000/1,000,000 bars`` redrawn in place on stderr."""

    def __init__(self, total: int, label: str = "replay", unit: str = "bars") -> None:
        self.total = max(1, total)
        self.label = label
        self.unit = unit

    def __call__(self, seen: int) -> None:
        frac = min(1.0, seen / self.total)
        filled = int(frac * 30)
        sys.stderr.write(f"\r{self.label} {int(frac * 100):3d}% [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{seen:,}/{self.total:,} {self.unit}")
        sys.stderr.flush()

    def finish(self) -> None:
        self(self.total)
        sys.stderr.write("\n")

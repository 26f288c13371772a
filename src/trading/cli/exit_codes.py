"""Exit codes, the same for every command (``trading.cli.common`` re-exports them).

0 done, 1 the config (or a file it names) is invalid or unusable, 2 the config file cannot be
read as JSON (or a usage error), 3 a failure at run time, 130 forced stop.

A module of its own, importing nothing: ``trading.cli.stop_signals`` needs ``EXIT_FORCED``
before any heavy import, and ``common`` imports the database layer.
"""

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_FORCED = 130

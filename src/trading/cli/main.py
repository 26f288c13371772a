"""``tradingbot``: one console script, one subcommand per job.

Each subcommand's module exposes ``main(argv) -> int``; the ``src/trading/*.py`` scripts call the
same functions, so both entry points behave identically.
"""
from __future__ import annotations

import importlib
import sys

from trading.cli.stop_signals import install_stop_signals
from trading.core.version import version

COMMANDS = {
    "run": ("trading.cli.run", "run one numbered bot config"),
    "validate": ("trading.cli.validate", "check config files; every error with its JSON path"),
    "replay": ("trading.cli.replay", "replay history through configs' strategies, with a report"),
    "sweep": ("trading.cli.sweep", "replay a grid of config values, ranked (resumable, local or Dask)"),
    "mixins": ("trading.cli.mixins", "list every entry/exit mixin with its params"),
    "schema": ("trading.cli.schema", "print the config JSON Schema"),
    "status": ("trading.cli.status", "show every bot's status as a table (stale ones marked)"),
    "reset": ("trading.cli.reset", "archive a stopped bot's rows, journal and status: start over"),
    "reset-kill-switch": ("trading.cli.reset_kill_switch", "clear a bot's drawdown kill switch"),
    "download": ("trading.cli.download", "download closed klines to a CSV file replay reads"),
    "feed-test": ("trading.cli.feed_test", "connect to a data feed and print each closed bar"),
}


def _usage() -> str:
    lines = ["usage: tradingbot COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<18} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "Run 'tradingbot COMMAND --help' for a command's options; "
              "'tradingbot --version' for the version."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"tradingbot {version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"tradingbot: unknown command '{command}'\n\n{_usage()}", file=sys.stderr)
        return 2
    if command == "run":  # before its imports (a second): Ctrl+C in start-up stops cleanly
        install_stop_signals()
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""``tradingbot``: one console script, one subcommand per job.

Each subcommand's module exposes ``main(argv) -> int``; the ``src/trading/*.py`` scripts call the
same functions, so both entry points behave identically.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "run": ("trading.cli.run", "run one numbered bot config"),
    "validate": ("trading.cli.validate", "check config files; every error with its JSON path"),
    "replay": ("trading.cli.replay", "replay history through the config's strategy"),
    "mixins": ("trading.cli.mixins", "list every entry/exit mixin with its params"),
    "schema": ("trading.cli.schema", "print the config JSON Schema"),
    "reset-kill-switch": ("trading.cli.reset_kill_switch", "clear a bot's drawdown kill switch"),
    "download": ("trading.cli.download", "download closed klines to a CSV file replay reads"),
    "feed-test": ("trading.cli.feed_test", "connect to a data feed and print each closed bar"),
}


def _usage() -> str:
    lines = ["usage: tradingbot COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<18} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "Run 'tradingbot COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"tradingbot: unknown command '{command}'\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

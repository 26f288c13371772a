"""``tradingbot run CONFIG``: run one numbered bot (``python src/trading/trading_bot.py 0001.json``).

Validates the config (same messages as the validator), builds a LiveTradingBot and runs it until
the feed ends or SIGINT/SIGTERM arrives (a second Ctrl+C forces the exit). The signal handlers
come first (``trading.cli.stop_signals``): a signal during start-up ends it cleanly, exit 0.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable

from trading.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_RUNTIME,
    DB_HELP,
    command_parser,
    report_config_error,
)
from trading.cli.stop_signals import StopSignals, install_stop_signals
from trading.config.env_file import load_env_file
from trading.config.loading import check_config
from trading.config.secrets import register_config_secrets
from trading.config.units import percent_warnings
from trading.config.validator import json_path
from trading.core.errors import ConfigError, DataError, LeaseHeld, TradingBotError
from trading.core.redaction import known_secrets
from trading.runtime.bot import LiveTradingBot
from trading.runtime.logging_setup import FILE_ONLY, add_log_file, setup_logging

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = command_parser(prog="tradingbot run", description="Run one numbered bot config.")
    p.add_argument("config", help="0001, 0001.json or a path to a config file")
    p.add_argument("--live", action="store_true",
                   help="allow a live-money broker (also needs live_trading_confirmed in the config)")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="override logging.level")
    return p


def _stopped_before_start(signals: StopSignals) -> bool:
    if signals.received is None:
        return False
    print(f"stopped by {signals.received} before the bot started; nothing was traded",
          file=sys.stderr)
    return True


def _exit_before_the_lease_expires(bot_id: str) -> Callable[[str], None]:
    """What ends the process of a bot that gave up a lease it cannot renew and is not out in
    time (a shutdown stuck on the database): exit 3 now, before another instance may take over."""
    def exit_now(why: str) -> None:
        log.critical("bot %s did not stop in time after giving up its lease; exiting now", bot_id)
        logging.shutdown()  # flush the log file first: os._exit skips every clean-up
        print(f"bot {bot_id} stopped: {why}", file=sys.stderr, flush=True)
        os._exit(EXIT_RUNTIME)
    return exit_now


def main(argv: list[str] | None = None) -> int:
    """0 stopped normally (end of data or a signal), 1 the config or a file it names is unusable,
    2 unreadable config, 3 stopped by an error at run time, 130 forced."""
    signals = install_stop_signals()  # first: Ctrl+C from here on is a clean stop
    args = _parser().parse_args(argv)
    loaded = load_env_file()
    try:
        checked = check_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc)
    config = checked.config
    # before the first log line: no log, report or status file shows a secret's value
    register_config_secrets(checked.document, os.environ, urls=[args.db])
    if _stopped_before_start(signals):
        return EXIT_OK
    setup_logging(args.log_level or config.logging.level)  # the log file once the bot can start
    try:
        bot = LiveTradingBot(config, db_url=args.db, live=args.live,
                             lease_overdue=_exit_before_the_lease_expires(config.bot_id))
        bot.prepare()
        add_log_file(config.logging.log_file, on_disk_full=bot.disk_full)  # stops it: exit 3
    except TradingBotError as exc:
        print(known_secrets().redact(f"{config.source}: {exc}"), file=sys.stderr)
        return EXIT_INVALID if isinstance(exc, (ConfigError, DataError)) else EXIT_RUNTIME
    if _stopped_before_start(signals):
        return EXIT_OK
    signals.attach(bot.stop)
    if loaded:
        log.info("read %s from .env", ", ".join(loaded))
    for where, message in percent_warnings(checked.document):  # `validate` says it too
        log.warning("%s: %s: %s", config.source, json_path(where), message)
    log.info("starting bot %s: %s, %s %s via %s, broker %s", config.bot_id, config.description,
             config.data.symbol, config.data.interval, config.data.data_source, config.broker.type)
    log.info("database URL from %s", "--db" if args.db else config.database_url_from)
    try:
        summary = bot.run()
    except TradingBotError as exc:
        if isinstance(exc, LeaseHeld):
            # the shared log has this instance's "starting bot" line: say there why it did not
            log.error("bot %s not started: %s", config.bot_id, exc, extra=FILE_ONLY)
            print(known_secrets().redact(f"bot {config.bot_id} not started: {exc}"),
                  file=sys.stderr)
            return EXIT_INVALID
        said = str(exc)  # the bot's own errors already say "bot 0001 stopped: ..."
        head = f"bot {config.bot_id} stopped"
        print(known_secrets().redact(said if said.startswith(head) else f"{head}: {said}"),
              file=sys.stderr)
        # a source, broker or data file this config cannot use is the config's problem
        return EXIT_INVALID if isinstance(exc, (ConfigError, DataError)) else EXIT_RUNTIME
    text = summary.format()
    log.info("run summary:\n%s", text, extra=FILE_ONLY)
    print(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

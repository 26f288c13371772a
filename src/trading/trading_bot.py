"""Run one numbered bot config: ``python src/trading/trading_bot.py 0001.json`` (or ``tradingbot run``).

Validates the config (same messages as the validator), builds a LiveTradingBot and runs it until
the feed ends or SIGINT/SIGTERM arrives (a second Ctrl+C forces the exit).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # not from src/trading (stdlib names)

import argparse
import logging
import os
import signal
from typing import Any

from trading.config import load_config
from trading.env_file import load_env_file
from trading.errors import ConfigError, DataError, TradingBotError, UnreadableConfig
from trading.log_setup import setup_logging

log = logging.getLogger("trading.trading_bot")

EXIT_OK, EXIT_CONFIG, EXIT_UNREADABLE, EXIT_RUNTIME, EXIT_FORCED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradingbot run", description="Run one numbered bot config.")
    p.add_argument("config", help="0001, 0001.json or a path to a config file")
    p.add_argument("--live", action="store_true",
                   help="allow a live-money broker (also needs live_trading_confirmed in the config)")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default from the config)")
    p.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="override logging.level")
    return p


def _install_signal_handlers(bot: Any) -> None:
    received = {"count": 0}

    def handle(signum: int, _frame: Any) -> None:
        received["count"] += 1
        if received["count"] > 1:
            print("\nforced exit; the database holds every completed bar", file=sys.stderr)
            os._exit(EXIT_FORCED)
        print(f"\n{signal.Signals(signum).name}: stopping after the bar in hand "
              "(press Ctrl+C again to force)", file=sys.stderr)
        bot.stop()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    loaded = load_env_file()
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return EXIT_UNREADABLE if isinstance(exc, UnreadableConfig) else EXIT_CONFIG
    setup_logging(args.log_level or config.logging.level, config.logging.log_file)
    if loaded:
        log.info("read %s from .env", ", ".join(loaded))
    from trading.live_trading_bot import LiveTradingBot  # heavy imports after the config is good

    try:
        bot = LiveTradingBot(config, db_url=args.db, live=args.live)
    except ConfigError as exc:
        print(f"{config.source}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _install_signal_handlers(bot)
    log.info("starting bot %s: %s, %s %s via %s, broker %s", config.bot_id, config.description,
             config.data.symbol, config.data.interval, config.data.data_source, config.broker.type)
    try:
        summary = bot.run()
    except TradingBotError as exc:
        print(f"bot {config.bot_id} stopped: {exc}", file=sys.stderr)
        # a source, broker or data file this config cannot use is the config's problem
        return EXIT_CONFIG if isinstance(exc, (ConfigError, DataError)) else EXIT_RUNTIME
    print(summary.format())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

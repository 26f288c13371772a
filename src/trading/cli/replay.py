"""``tradingbot replay CONFIG [--data FILE] ...``: replay history and write a report.

    python src/trading/replay.py 0001.json --data data/sample/ETHBTC-5m.csv
    tradingbot replay 0001 --start 2018-01-15 --end 2018-01-20T12:00Z --out out/0001

By default it replays the config's own ``data.file_path`` with ``data.lookback_bars`` of warm-up,
so it gives the trades ``tradingbot run`` gives on that file. Writes trades.csv, metrics.json,
equity.csv and equity.png (default ``replay_out/<bot_id>/``) and prints a summary.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from trading.backtest.replay import load_replay_bars, run_replay
from trading.backtest.report import format_summary, write_report
from trading.cli.common import (EXIT_INVALID, EXIT_OK, EXIT_USAGE, ProgressBar,
                                report_config_error)
from trading.config.loading import load_config
from trading.core.errors import ConfigError, MixinError, TradingBotError

DEFAULT_OUT = Path("replay_out")


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # naive means UTC (load_bars)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date/time: {text!r} (e.g. 2018-01-15 or 2018-01-15T12:00:00Z)") from None


def _warmup(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of bars, 0 or more, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradingbot replay",
        description="Replay historical bars through a config's strategy and write a report. "
                    "Without options it replays the config's data.file_path with "
                    "data.lookback_bars of warm-up: the trades 'tradingbot run' makes on it.")
    parser.add_argument("config", help="0001, 0001.json (both mean config/trading/0001.json) or a path")
    parser.add_argument("--data", type=Path, help="CSV of bars (default: the config's data.file_path); "
                        "finer bars are resampled to data.interval")
    parser.add_argument("--start", type=_moment, help="first bar time to use, ISO 8601 (UTC if no offset)")
    parser.add_argument("--end", type=_moment, help="last bar time to use (inclusive), ISO 8601")
    parser.add_argument("--out", type=Path, help="output folder (default: replay_out/<bot_id>/)")
    parser.add_argument("--warmup", type=_warmup, metavar="N",
                        help="feed the first N bars to the indicators only, without trading "
                             "(default: the config's data.lookback_bars)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _fail(message: str, code: int, details: list[str] | None = None) -> int:
    print(f"replay: {message}", file=sys.stderr)
    for line in details or []:
        if line != message:
            print(f"  {line}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """0 done, 1 invalid config or unusable data, 2 unreadable config or usage error."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0) and EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc)
    try:
        bars = load_replay_bars(config, args.data, args.start, args.end)
        progress = ProgressBar(len(bars)) if not args.no_progress and sys.stderr.isatty() else None
        result = run_replay(config, bars, args.warmup, on_progress=progress)
        if progress is not None:
            progress.finish()
        out = args.out or DEFAULT_OUT / config.bot_id
        paths = write_report(out, result.trades, result.equity, result.metrics,
                             initial_balance=config.broker.initial_balance,
                             title=f"{config.bot_id} {config.trading.symbol}")
    except (ConfigError, MixinError) as exc:
        return _fail(str(exc), EXIT_INVALID, getattr(exc, "problems", None))
    except TradingBotError as exc:
        return _fail(str(exc), EXIT_INVALID)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", EXIT_INVALID)
    title = f"Replay {config.bot_id} {config.trading.symbol} ({len(bars):,} bars, " \
            f"{result.warmup_bars:,} warm-up, {result.bars / result.seconds:,.0f} bars/s)"
    print(format_summary(result.metrics, title=title))
    print(f"\nfiles in {out}/: " + ", ".join(p.name for p in paths.values()))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Replay history through a config's strategy, in the same Cerebro engine as live, and report.

    python src/trading/replay.py 0001.json --data data/sample/ETHBTC-5m.csv
    tradingbot replay 0001 --start 2018-01-15 --end 2018-01-20T12:00Z --out out/0001

Writes trades.csv, metrics.json, equity.csv and equity.png (default ``replay_out/<bot_id>/``) and
prints a summary. Fills: the paper broker's model (Backtrader's BackBroker): market orders at the
next bar's open, commission per side as a fraction of the traded value (``broker.commission``),
and ``broker.slippage_pct`` against the trader.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # not from src/trading (stdlib names)

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import backtrader as bt
import numpy as np

from brokers.paper import PaperBroker
from feeds.array_feed import ArrayFeed
from feeds.csv_bars import BarArrays, load_bars
from strategies.custom_strategy import CustomStrategy
from strategies.listener import NullListener
from strategies.mixins.base import Bar
from trading.assembly import strategy_setup
from trading.config import BotConfig, load_config
from trading.errors import ConfigError, DataError, MixinError, TradingBotError
from trading.events import TradeClosed
from trading.report import EquitySeries, compute_metrics, format_summary, write_report

DEFAULT_OUT = Path("replay_out")


class ReplayRecorder(NullListener):
    """The replay's StrategyListener: per-bar equity and the closed trades.

    ``on_bar`` runs every bar, so it writes two preallocated array cells and compares one counter;
    warm-up bars are not recorded. ``on_progress(bars_seen)`` runs every ``progress_every`` bars.
    """

    def __init__(self, capacity: int, on_progress: Callable[[int], None] | None = None,
                 progress_every: int = 1) -> None:
        self._ts = np.empty(capacity, dtype=np.float64)
        self._values = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self._seen = 0
        self._on_progress = on_progress
        self._every = max(1, progress_every)
        self._next_progress = self._every if on_progress else -1
        self.trades: list[TradeClosed] = []

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None:
        self._seen += 1
        if self._seen == self._next_progress:
            self._next_progress += self._every
            self._on_progress(self._seen)  # type: ignore[misc]
        if warmup:
            return
        n = self._n
        self._ts[n] = bar.ts
        self._values[n] = value
        self._n = n + 1

    def on_trade_closed(self, event: TradeClosed) -> None:
        self.trades.append(event)

    @property
    def equity(self) -> EquitySeries:
        return EquitySeries(self._ts[:self._n], self._values[:self._n])


@dataclass(frozen=True)
class ReplayResult:
    trades: list[TradeClosed]
    equity: EquitySeries
    metrics: dict[str, Any]
    bars: int
    seconds: float  # wall time of the Cerebro run


class _ProgressBar:
    """``replay  42% [#####.....] 420,000/1,000,000 bars`` redrawn in place on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, seen: int) -> None:
        frac = seen / self.total
        filled = int(frac * 30)
        sys.stderr.write(f"\rreplay {int(frac * 100):3d}% [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{seen:,}/{self.total:,} bars")
        sys.stderr.flush()

    def finish(self) -> None:
        self(self.total)
        sys.stderr.write("\n")


def build_cerebro(config: BotConfig, bars: BarArrays, listener: Any,
                  warmup_bars: int = 0) -> bt.Cerebro:
    """One Cerebro with the bars, the paper broker's fill model and the config's strategy.

    Fills are simulated exactly as the ``paper`` broker does live (commission and slippage), so a
    replay and a paper bot on the same bars trade alike.
    """
    cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True)
    cerebro.adddata(ArrayFeed(bars=bars, warmup_bars=warmup_bars), name=config.trading.symbol)
    cerebro.setbroker(PaperBroker(cash=config.broker.initial_balance,
                                  commission=config.broker.commission,
                                  slippage_pct=config.broker.slippage_pct))
    cerebro.addstrategy(CustomStrategy, setup=strategy_setup(config), listener=listener)
    return cerebro


def run_replay(config: BotConfig, bars: BarArrays, warmup_bars: int = 0,
               progress: bool = False) -> ReplayResult:
    """Run the config's strategy over ``bars`` and compute the metrics (no files written)."""
    if warmup_bars >= len(bars):
        raise DataError(f"--warmup {warmup_bars} leaves none of the {len(bars)} bars to trade on")
    on_progress = _ProgressBar(len(bars)) if progress else None
    recorder = ReplayRecorder(len(bars), on_progress, progress_every=max(1, len(bars) // 100))
    cerebro = build_cerebro(config, bars, recorder, warmup_bars)
    started = time.perf_counter()
    cerebro.run()
    seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress.finish()
    equity = recorder.equity
    metrics = compute_metrics(recorder.trades, equity, config.broker.initial_balance,
                              interval_seconds=bars.interval_seconds)
    return ReplayResult(recorder.trades, equity, metrics, len(bars), seconds)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # naive means UTC (load_bars)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date/time: {text!r} (e.g. 2018-01-15 or 2018-01-15T12:00:00Z)") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradingbot replay",
        description="Replay historical bars through a config's strategy and write a report.")
    parser.add_argument("config", help="0001, 0001.json (both mean config/trading/0001.json) or a path")
    parser.add_argument("--data", type=Path, help="CSV of bars (default: the config's data.file_path)")
    parser.add_argument("--start", type=_moment, help="first bar time to use, ISO 8601 (UTC if no offset)")
    parser.add_argument("--end", type=_moment, help="last bar time to use (inclusive), ISO 8601")
    parser.add_argument("--out", type=Path, help="output folder (default: replay_out/<bot_id>/)")
    parser.add_argument("--warmup", type=int, default=0, metavar="N",
                        help="feed the first N bars to the indicators only, without trading")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _fail(message: str, code: int, details: list[str] | None = None) -> int:
    print(f"replay: {message}", file=sys.stderr)
    for line in details or []:
        if line != message:
            print(f"  {line}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """``tradingbot replay CONFIG [--data PATH] ...``: 0 done, 1 bad data or run, 2 bad config/usage."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0)
    if args.warmup < 0:
        return _fail("--warmup must be 0 or more", 2)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
        data_path = args.data or config.data.file_path
        if data_path is None:
            return _fail(f"no data file: pass --data PATH or set data.file_path in {config.source}", 2)
        bars = load_bars(data_path, args.start, args.end)
        show = not args.no_progress and sys.stderr.isatty()
        result = run_replay(config, bars, args.warmup, progress=show)
        out = args.out or DEFAULT_OUT / config.bot_id
        paths = write_report(out, result.trades, result.equity, result.metrics,
                             initial_balance=config.broker.initial_balance,
                             title=f"{config.bot_id} {config.trading.symbol}")
    except (ConfigError, MixinError) as exc:
        return _fail(str(exc), 2, getattr(exc, "problems", None))
    except TradingBotError as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", 1)
    title = f"Replay {config.bot_id} {config.trading.symbol} ({len(bars):,} bars, " \
            f"{result.bars / result.seconds:,.0f} bars/s)"
    print(format_summary(result.metrics, title=title))
    print(f"\nfiles in {out}/: " + ", ".join(p.name for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

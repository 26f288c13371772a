"""``tradingbot sweep CONFIG --grid NAME=VALUES ...``: replay every combination, ranked.

    tradingbot sweep 0001 --grid e_rsi_oversold=20:40:5 --grid x_rsi_overbought=60,70,80
    tradingbot sweep 0001 --grid e_rsi_oversold=20:40:5 --train-end 2018-01-22 --rank sortino
    tradingbot sweep 0001 --grid e_rsi_oversold=20:40:5 --cluster tcp://10.0.0.5:8786

Every point goes through the replay's own code path (same engine, same fills). Results go to
``sweeps/<bot_id>/<sweep key>/`` (or ``--out``): ``sweep.json``, ``results.csv`` (one row per
point), and the best points' report folders under ``best/``. Re-running the same command resumes:
points already in results.csv are skipped.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from trading.backtest.bars import BarLoader
from trading.backtest.executors import ClusterError, make_runner
from trading.backtest.outdirs import OutputExists
from trading.backtest.results import RANKS, rank_column
from trading.backtest.spans import step_times
from trading.backtest.sweep import SWEEP_ROOT, SweepPlan, plan_sweep
from trading.backtest.sweep_run import SweepRun
from trading.backtest.sweep_worker import PointOutcome
from trading.cli import tables
from trading.cli.common import (EXIT_FORCED, EXIT_INVALID, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE,
                                command_parser, report_config_error)
from trading.cli.progress import SweepProgress
from trading.cli.research_args import add_research_arguments, bar_count, fail, moment
from trading.config.loading import check_config
from trading.config.secrets import register_config_secrets
from trading.core.errors import ConfigError, MixinError, TradingBotError
from trading.core.timeutil import iso_z
from trading.runtime.logging_setup import setup_warnings_logging

log = logging.getLogger(__name__)

# Test-only: with TRADINGBOT_TEST_SWEEP_HOLD_AFTER=N the sweep holds still once N points of this
# run are in results.csv, saying so on stderr, until it is interrupted (Ctrl+C, SIGINT) or
# HOLD_LIMIT_SECONDS pass. The test of a stopped sweep sets it so that its SIGINT provably reaches
# a sweep that is still running, however fast or loaded the machine is. Users have no reason to.
HOLD_AFTER_ENV = "TRADINGBOT_TEST_SWEEP_HOLD_AFTER"
HOLD_LIMIT_SECONDS = 300.0


def _rank(text: str) -> str:
    try:
        rank_column(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _positive(text: str) -> int:
    value = bar_count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        prog="tradingbot sweep",
        description="Replay every combination of a grid of config values and rank them. "
                    "Re-running the same command resumes a stopped sweep.")
    parser.add_argument("config", help="0001, 0001.json (both mean config/trading/0001.json) or a path")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=VALUES",
                        help="an axis: a mixin param (e_rsi_oversold) or a config path "
                             "(risk_management.stop_loss_pct) = a range START:STOP:STEP (stop "
                             "included) or a list a,b,c; repeat for more axes")
    add_research_arguments(parser)
    parser.add_argument("--rank", type=_rank, default="sharpe", metavar="METRIC",
                        help=f"rank by {' | '.join(RANKS)} (default sharpe; max_drawdown: lowest first)")
    parser.add_argument("--train-end", type=moment, metavar="DATE",
                        help="rank on the bars before DATE, and report every point on the bars "
                             "from DATE on (out of sample) beside its in-sample figures")
    parser.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes on this machine (default: the number of cores)")
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                        help="run the points on a Dask distributed cluster's workers instead")
    parser.add_argument("--cluster-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long to try reaching the cluster's scheduler (default 10)")
    parser.add_argument("--out", type=Path, help="sweep folder (default: sweeps/<bot_id>/<sweep key>/)")
    parser.add_argument("--keep", type=bar_count, default=3, metavar="K",
                        help="write full reports for the K best points (default 3)")
    parser.add_argument("--min-trades", type=bar_count, default=10, metavar="N",
                        help="rank only points with at least N trades (in sample); the others are "
                             "listed after them, unranked (default 10; 0 ranks every point)")
    parser.add_argument("--top", type=_positive, default=10, metavar="N",
                        help="rows of the ranking printed (default 10; results.csv has all)")
    return parser


def _fail(message: str, code: int, details: list[str] | None = None) -> int:
    return fail("sweep", message, code, details)


def _plan(args: argparse.Namespace) -> SweepPlan | int:
    try:
        base = check_config(args.config, args.overrides)
    except ConfigError as exc:
        return report_config_error(exc)
    register_config_secrets(base.document, os.environ)
    try:
        data = BarLoader(args.data, args.start, args.end).load(base.config)
        return plan_sweep(base, args.grid, data, args.warmup, args.train_end)
    except (ConfigError, MixinError) as exc:
        return _fail(str(exc), EXIT_INVALID, getattr(exc, "problems", None))
    except TradingBotError as exc:
        return _fail(str(exc), EXIT_INVALID)


def main(argv: list[str] | None = None) -> int:
    """0 done, 1 invalid config/grid/data, 2 usage or a folder of another sweep, 3 cluster
    unreachable or a point failed, 130 stopped (re-run to resume)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    setup_warnings_logging()
    plan = _plan(args)
    if isinstance(plan, int):
        return plan
    folder = args.out or SWEEP_ROOT / plan.base.config.bot_id / plan.key
    sweep = SweepRun(plan, folder)
    try:
        state = sweep.open()
    except OutputExists as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        runner = make_runner(plan.bars, args.workers, args.cluster, args.cluster_timeout)
    except ClusterError as exc:
        return _fail(str(exc), EXIT_RUNTIME)
    out = sys.stdout
    print(f"sweep {plan.base.config.bot_id}: {len(plan.points)} points"
          + (f" ({len(state.done)} done before, {len(state.todo)} to run)" if state.done else "")
          + f" on {runner.where}; results in {folder}/", file=out, flush=True)
    progress = None if args.no_progress else SweepProgress(len(plan.points), len(state.done))
    try:
        rows = sweep.run(runner, state, on_point=_on_point(progress))
        if progress:
            progress.close()
        ranked = sweep.finish(rows, args.rank, runner, args.keep, args.min_trades)
    except KeyboardInterrupt:
        if progress:
            progress.close()
        runner.close(cancel=True)
        done = len(sweep.results.load())
        print(f"\nsweep stopped: {done} of {len(plan.points)} points are in {sweep.results.path}; "
              f"run the same command again to resume", file=sys.stderr)
        return EXIT_FORCED
    except TradingBotError as exc:
        runner.close(cancel=True)
        return _fail(f"a point failed: {exc}", EXIT_RUNTIME)
    runner.close()
    _print_ranking(plan, args, ranked, sweep.results.path, folder)
    return EXIT_OK


def _print_ranking(plan: SweepPlan, args: argparse.Namespace, rows: list[dict], path: Path,
                   folder: Path) -> None:
    console = tables.console()
    axes = [a.name for a in plan.axes]
    ranked = [r for r in rows if r["rank"] is not None]
    unranked = [r for r in rows if r["rank"] is None]
    oos = plan.train_end is not None
    console.print(tables.ranking_table(ranked[:args.top], axes, args.rank, out_of_sample=oos,
                                       title=_title(plan, args.rank, len(ranked), len(unranked),
                                                    args.min_trades)))
    if unranked:
        where = " in sample" if oos else ""
        console.print(tables.ranking_table(
            unranked[:args.top], axes, args.rank, out_of_sample=oos,
            title=f"Not ranked: {len(unranked)} point(s) with fewer than {args.min_trades} "
                  f"trades{where}\n(--min-trades N sets the least)"))
    console.print(f"all {len(rows)} points: {path}")
    if args.keep and ranked:
        console.print(f"reports of the best {min(args.keep, len(ranked))}: {folder / 'best'}/")


def _on_point(progress: SweepProgress | None) -> Callable[[PointOutcome], None] | None:
    """What runs after each point is written: the progress, and the test-only hold."""
    hold_after = int(os.environ.get(HOLD_AFTER_ENV) or 0)
    if progress is None and not hold_after:
        return None
    written = 0

    def on_point(_outcome: PointOutcome) -> None:
        nonlocal written
        written += 1
        if progress is not None:
            progress.advance()
        if written == hold_after:
            log.warning("holding after %d point(s) (%s is set): waiting for Ctrl+C, at most %gs",
                        written, HOLD_AFTER_ENV, HOLD_LIMIT_SECONDS)
            time.sleep(HOLD_LIMIT_SECONDS)  # a signal's KeyboardInterrupt ends it at once

    return on_point


def _title(plan: SweepPlan, rank: str, ranked: int, unranked: int, min_trades: int) -> str:
    ts = step_times(plan.data.bars, plan.data.basket)  # a basket's: every symbol's times
    split = plan.bars.split
    if split is not None and plan.bars.split_time is not None:
        split = int(np.searchsorted(ts, plan.bars.split_time, side="left"))
    if split is None:
        period = f"{iso_z(float(ts[0]))} .. {iso_z(float(ts[-1]))}"
    else:
        period = (f"in sample {iso_z(float(ts[0]))} .. {iso_z(float(ts[split - 1]))}, "
                  f"out of sample {iso_z(float(ts[split]))} .. {iso_z(float(ts[-1]))}")
    counted = f"{ranked} of {ranked + unranked}" if unranked else f"{ranked}"
    return f"Sweep {plan.base.config.bot_id}: {counted} points ranked by {rank}\n{period}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

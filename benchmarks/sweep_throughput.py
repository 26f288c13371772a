"""Sweep throughput: a 48-point grid over a year of 5-minute bars, with 1 and with 2 workers.

    python benchmarks/sweep_throughput.py            # 48 points x 105,120 bars, 1 then 2 workers
    python benchmarks/sweep_throughput.py --quick    # 8 points x 3 months

The real code path of ``tradingbot sweep``: ``plan_sweep`` (every point validated), then
``SweepRun.run`` writing results.csv row by row, on ``make_runner``'s runner (1 worker: this
process; 2: two spawned worker processes, each handed the bars once). Timed from the runner's
creation (worker start-up included) to the last point's row. The config is the documented
strategy (RSIBBVolumeEntryMixin + RSIBBExitMixin, 0.1 position, 0.1 % commission) on seeded
synthetic 5-minute bars; the grid is e_rsi_oversold 20..35 x x_rsi_overbought 65..80 x e_bb_dev
1.5, 2.0, 2.5.

Figures: points per second with 1 and 2 workers (target: 2 workers >= 1.8x one), and the
per-point overhead beyond the replay itself: with 1 worker, (wall time - the engine's own time
summed over the points) / points (target < 50 ms).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _synthetic import SEED, synthetic_bars, write_iso_csv  # benchmarks/ is on sys.path

TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD_MS = 50.0
FIVE_MINUTES = 300.0
GRID = ["e_rsi_oversold=20:35:5", "x_rsi_overbought=65:80:5", "e_bb_dev=1.5,2.0,2.5"]
QUICK_GRID = ["e_rsi_oversold=20:35:5", "x_rsi_overbought=70,80", "e_bb_dev=2.0"]  # 8 points


def config(data: Path) -> dict:
    from replay_throughput import CONFIG  # the documented strategy, shared with the replay benchmark

    doc = json.loads(json.dumps(CONFIG))
    doc["data"].update({"interval": "5m", "file_path": str(data), "lookback_bars": 100})
    return doc


def five_minute_bars(n: int):
    """The seeded synthetic bars re-timed to 5 minutes apart."""
    import numpy as np
    from feeds.csv_bars import BarArrays

    bars = synthetic_bars(n)
    return BarArrays(bars.ts[0] + FIVE_MINUTES * np.arange(n), bars.open, bars.high, bars.low,
                     bars.close, bars.volume)


def sweep(plan, workers: int, folder: Path) -> dict:
    from trading.backtest.executors import make_runner
    from trading.backtest.sweep_run import SweepRun

    run = SweepRun(plan, folder)
    state = run.open()
    outcomes = []
    started = time.perf_counter()
    runner = make_runner(plan.bars, workers)
    try:
        rows = run.run(runner, state, on_point=outcomes.append)
    finally:
        runner.close()
    wall = time.perf_counter() - started
    engine = sum(o.replay_seconds for o in outcomes)
    inside = sum(o.seconds for o in outcomes)
    return {"workers": workers, "points": len(rows), "wall": wall, "engine": engine, "inside": inside,
            "rows": {k: {c: v for c, v in r.items() if c != "seconds"} for k, r in rows.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 points over 3 months of bars")
    args = parser.parse_args(argv)
    n = 26_280 if args.quick else 105_120  # 3 months or 365 days of 5-minute bars
    grid = QUICK_GRID if args.quick else GRID

    from trading.backtest.bars import BarLoader
    from trading.backtest.sweep import plan_sweep
    from trading.config.loading import check_document

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "bars.csv"
        write_iso_csv(data, five_minute_bars(n))
        base = check_document(config(data), folder / "bench.json")
        plan = plan_sweep(base, grid, BarLoader().load(base.config))
        one = sweep(plan, 1, folder / "one")
        two = sweep(plan, 2, folder / "two")

    points = one["points"]
    print(f"\nsweep of {points} points over {n:,} synthetic 5-minute bars (seed {SEED}); "
          f"load average {load}, cores {os.cpu_count()}")
    print(f"  {'workers':<10}{'wall s':>9}{'points/s':>10}{'engine s':>10}")
    for r in (one, two):
        print(f"  {r['workers']:<10}{r['wall']:>9.2f}{r['points'] / r['wall']:>10.3f}{r['engine']:>10.2f}")
    speedup = one["wall"] / two["wall"]
    overhead_ms = (one["wall"] - one["engine"]) / points * 1000
    in_worker_ms = (one["inside"] - one["engine"]) / points * 1000
    print(f"  2 workers / 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'MISSED'})")
    print(f"  per-point overhead beyond the replay, 1 worker: {overhead_ms:.1f} ms (target < "
          f"{TARGET_OVERHEAD_MS:g} ms: {'met' if overhead_ms < TARGET_OVERHEAD_MS else 'MISSED'}); "
          f"of it inside run_point (config, strategy set-up, metrics): {in_worker_ms:.1f} ms")
    same = one["rows"] == two["rows"]
    print(f"  same results with 1 and 2 workers: {'yes' if same else 'NO'}")
    ok = speedup >= TARGET_SPEEDUP and overhead_ms < TARGET_OVERHEAD_MS and same
    print(f"\nall targets met: {'yes' if ok else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

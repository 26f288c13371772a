"""Basket replay speed and memory: 1, 10 and 50 symbols of 50,000 bars each through run_replay.

    python benchmarks/portfolio_throughput.py                  # 1, 10, 50 symbols x 50,000 bars
    python benchmarks/portfolio_throughput.py --quick          # 1, 5, 20 symbols x 10,000 bars
    python benchmarks/portfolio_throughput.py --profile        # and where a 50-symbol step's time goes
    python benchmarks/portfolio_throughput.py --repeat 3       # best of 3 runs per size (a busy machine)

Every symbol is its own seeded random walk of 1-minute bars (``_synthetic.synthetic_bars`` with the
seed plus the symbol's number), all on the same minutes. The strategy is the shipped demo's
(0001: RSIBBVolumeEntryMixin and RSIBBExitMixin) with 10% positions, at most 5 at once (1 with
one symbol). Each size runs in its own process, so its peak RSS (ru_maxrss) is its own; the
bars are made before the replay, so "replay RSS" is what the replay itself adds. Speed is
measured around ``cerebro.run()`` (``ReplayResult.seconds``): symbol-bars per second, the cost of
one symbol-bar in microseconds, and that cost at the largest basket over the one-symbol cost
(the target: within 1.5x, i.e. a basket costs per symbol about what one symbol costs). The CPU
time of the whole ``run_replay`` (set-up and metrics included) is shown beside it, with its own
ratio: on a machine shared with other work it is the steadier figure. With
``--repeat N`` the sizes run in turn N times and each size's fastest run counts, so a burst of
other work on a shared machine does not land on one size only.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _synthetic import SEED, synthetic_bars  # benchmarks/ is on sys.path

TARGET_RATIO = 1.5
WARMUP = 100
CONFIG = {
    "bot_id": "portfolio-bench",
    "description": "the demo strategy over a synthetic basket",
    "version": "1.0",
    "broker": {"type": "mock", "initial_balance": 10000.0, "commission": 0.001},
    "trading": {"position_size": 0.1, "max_exposure": 1.0, "max_drawdown_pct": 0},
    "data": {"data_source": "file", "interval": "1m", "file_path": "bench/{symbol}-1m.csv"},
    "strategy": {
        "type": "custom",
        "entry_logic": {"name": "RSIBBVolumeEntryMixin",
                        "params": {"e_rsi_period": 14, "e_rsi_oversold": 30, "e_bb_period": 20,
                                   "e_bb_dev": 2.0, "e_vol_ma_period": 20, "e_min_volume_ratio": 1.5}},
        "exit_logic": {"name": "RSIBBExitMixin",
                       "params": {"x_rsi_period": 14, "x_rsi_overbought": 70, "x_bb_period": 20,
                                  "x_bb_dev": 2.0}},
    },
    "risk_management": {"stop_loss_pct": 0, "take_profit_pct": 0,
                        "trailing_stop": {"enabled": False}, "max_daily_trades": 0,
                        "max_daily_loss": 0, "max_orders_per_minute": 0,
                        "max_consecutive_errors": 0},
    "notifications": {"enabled": False},
}


def symbol_names(count: int) -> list[str]:
    return [f"S{k:02d}BTC" for k in range(count)]


def basket_config(count: int):
    from trading.config.loading import build_config
    from trading.config.validator import validate_document

    document = json.loads(json.dumps(CONFIG))
    symbols = symbol_names(count)
    if count == 1:
        document["trading"] |= {"symbol": symbols[0], "max_positions": 1}
    else:
        document["trading"] |= {"symbols": symbols, "max_positions": 5}
    checked = validate_document(document, source="benchmark")
    if checked.errors:
        raise SystemExit("benchmark config is invalid:\n" + "\n".join(checked.errors))
    return build_config(checked.document)


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds() -> float:
    """This process's CPU time so far (user + system): what a busy machine's other work does not
    add to, unlike the wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(count: int, bars: int, out: Path, profile: bool) -> None:
    from trading.backtest.replay import run_replay

    config = basket_config(count)
    basket = {s: synthetic_bars(bars, seed=SEED + k) for k, s in enumerate(config.trading.symbols)}
    first = next(iter(basket.values()))
    before = rss_mb()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    cpu = cpu_seconds()
    result = run_replay(config, first, WARMUP, basket=basket if count > 1 else None)
    cpu = cpu_seconds() - cpu
    if profiler:
        profiler.disable()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    record = {"symbols": count, "bars": bars, "steps": result.bars, "seconds": result.seconds,
              "cpu_seconds": cpu,
              "trades": len(result.trades), "rss_before_mb": before, "peak_mb": peak}
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        record["profile"] = text.getvalue()
        record["per_step"] = per_step(profiler, result.bars)
    out.write_text(json.dumps(record))


def per_step(profiler: cProfile.Profile, steps: int) -> list[tuple[str, float, float]]:
    """The functions that take most of the run's own time: (name, µs per step, calls per step)."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (path, line, name), (calls, _, tottime, _, _) in stats.items():
        where = f"{Path(path).name}:{line} {name}" if line else name
        rows.append((where, tottime / steps * 1e6, calls / steps))
    return sorted(rows, key=lambda r: -r[1])[:15]


def measure(count: int, bars: int, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([sys.executable, __file__, "--child", str(count), "--bars", str(bars),
                        "--result", str(out)] + (["--profile"] if profile else []), check=True)
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, help="bars per symbol (default 50,000; --quick 10,000)")
    parser.add_argument("--symbols", help="basket sizes, comma-separated (default 1,10,50; --quick 1,5,20)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="profile the largest basket with cProfile and show its cost per step")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per size, in turn; the fastest counts (default 1)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    bars = args.bars or (10_000 if args.quick else 50_000)
    if args.child:
        child(args.child, bars, args.result, args.profile)
        return 0
    sizes = [int(s) for s in (args.symbols or ("1,5,20" if args.quick else "1,10,50")).split(",")]
    runs: list[dict] = []
    for _ in range(max(1, args.repeat)):  # sizes in turn, so load falls on each alike
        for k, r in enumerate(measure(n, bars) for n in sizes):
            if len(runs) <= k:
                runs.append(r)
            elif r["seconds"] < runs[k]["seconds"]:
                runs[k] = r

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"basket replay, {bars:,} 1-minute bars per symbol (seed {SEED}+k), {WARMUP} warm-up "
          f"bars, best of {max(1, args.repeat)}; load average {load}, cores {os.cpu_count()}")
    print(f"  {'symbols':>7}{'symbol-bars':>13}{'run s':>8}{'symbol-bars/s':>15}{'µs/symbol-bar':>15}"
          f"{'CPU µs/symbol-bar':>19}{'trades':>8}{'peak RSS MB':>13}{'replay RSS MB':>15}")
    for r in runs:
        r["symbol_bars"] = r["symbols"] * r["bars"]
        r["cost_us"] = r["seconds"] / r["symbol_bars"] * 1e6
        r["cpu_us"] = r["cpu_seconds"] / r["symbol_bars"] * 1e6
        print(f"  {r['symbols']:>7}{r['symbol_bars']:>13,}{r['seconds']:>8.2f}"
              f"{r['symbol_bars'] / r['seconds']:>15,.0f}{r['cost_us']:>15.2f}{r['cpu_us']:>19.2f}"
              f"{r['trades']:>8}{r['peak_mb']:>13.0f}{r['peak_mb'] - r['rss_before_mb']:>15.1f}")
    one, most = runs[0], runs[-1]
    ratio = most["cost_us"] / one["cost_us"]
    print(f"  cost of a symbol-bar at {most['symbols']} symbols / at {one['symbols']}: {ratio:.2f}x "
          f"(target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'}); "
          f"in CPU time {most['cpu_us'] / one['cpu_us']:.2f}x")
    if most["symbols"] > one["symbols"]:
        slope = (most["peak_mb"] - one["peak_mb"]) / (most["symbols"] - one["symbols"])
        grown = (most["peak_mb"] - most["rss_before_mb"]) / most["symbols"]
        print(f"  memory per symbol: {slope:.2f} MB of peak RSS per added symbol ({bars:,} bars "
              f"each, the bars included); the replay itself adds {grown:.2f} MB per symbol")
    if args.profile:
        profiled = measure(most["symbols"], bars, profile=True)
        print(f"\nwhere a step's time goes at {most['symbols']} symbols (cProfile, own time; "
              f"profiling slows the run to {profiled['seconds']:.1f} s):")
        print(f"  {'µs/step':>9}{'calls/step':>12}  function")
        for name, us, calls in profiled["per_step"]:
            print(f"  {us:>9.1f}{calls:>12.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

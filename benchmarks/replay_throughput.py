"""Replay speed against a plain Backtrader script with the same rules; the trades must be identical.

    python benchmarks/replay_throughput.py              # whole process, 200,000 1m bars (default)
    python benchmarks/replay_throughput.py --engine     # engine only, 1,000,000 bars, peak RSS
    python benchmarks/replay_throughput.py --quick      # smaller sizes for both

Whole process (the target of issue 11: >= 4x): both sides are timed from process start to exit on
the same CSV of seeded synthetic 1-minute bars: ``tradingbot replay`` (config load, CSV load and
hash, replay, every report file) against ``benchmarks/_plain_backtrader.py`` (pandas read_csv,
PandasData, default Cerebro). The replay runs twice: with its default report (pictures included)
and with ``--no-pictures`` (no matplotlib). Each is run ``--repeat`` times and the fastest run
counts, since the machine is shared; CPU seconds (user + sys) are shown beside the wall time.

Engine only: ``run_replay`` (CustomStrategy with RSIBBVolumeEntryMixin and RSIBBExitMixin,
ArrayFeed) against the baseline strategy over PandasData, each in its own process so peak RSS
(ru_maxrss) is its own; bars/s is measured around ``cerebro.run()`` on both sides.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _synthetic import REPO, SEED, synthetic_bars, write_iso_csv  # benchmarks/ is on sys.path


SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
TARGET_RATIO = 2.0  # engine only
TARGET_PROCESS_RATIO = 4.0  # whole process
TARGET_RSS_MB = 400.0
PLAIN = Path(__file__).resolve().parent / "_plain_backtrader.py"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
       "MPLBACKEND": "Agg"}
CONFIG = {
    "bot_id": "bench",
    "description": "documented strategy: RSI + Bollinger Bands + volume entry, RSI/BB exit",
    "version": "1.0",
    "broker": {"type": "mock", "initial_balance": 1000.0, "commission": 0.001},
    "trading": {"symbol": "BENCH", "position_size": 0.1, "max_positions": 1,
                "max_drawdown_pct": 0, "max_exposure": 1.0},
    "data": {"data_source": "file", "symbol": "BENCH", "interval": "1m", "file_path": str(SAMPLE)},
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


# -- data ------------------------------------------------------------------------------------------
def dataset(name: str, n: int):
    from feeds.csv_bars import load_bars

    return synthetic_bars(n) if name == "synthetic" else load_bars(SAMPLE)


# -- the two variants, each run in a child process ------------------------------------------------
def run_replay_variant(bars) -> tuple[float, list[list[float]]]:
    from trading.config.loading import build_config
    from trading.config.validator import validate_document
    from trading.backtest.replay import run_replay

    checked = validate_document(json.loads(json.dumps(CONFIG)), source="benchmark")
    if checked.errors:
        raise SystemExit("benchmark config is invalid:\n" + "\n".join(checked.errors))
    config = build_config(checked.document)
    result = run_replay(config, bars, 0)  # no warm-up: the baseline trades from its first bar too
    trades = [[t.entry_time.timestamp(), t.exit_time.timestamp(), t.entry_price, t.exit_price]
              for t in result.trades]
    return result.seconds, trades


def run_baseline_variant(bars) -> tuple[float, list[list[float]]]:
    import pandas as pd
    from _plain_backtrader import run

    frame = pd.DataFrame({"open": bars.open, "high": bars.high, "low": bars.low,
                          "close": bars.close, "volume": bars.volume},
                         index=pd.to_datetime(bars.ts, unit="s"))
    return run(frame)


def child(variant: str, data: str, n: int, out: Path) -> None:
    bars = dataset(data, n)
    seconds, trades = (run_replay_variant if variant == "replay" else run_baseline_variant)(bars)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    out.write_text(json.dumps({"bars": len(bars), "seconds": seconds, "peak_mb": peak_mb,
                               "trades": trades}))


def measure(variant: str, data: str, n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([sys.executable, __file__, "--child", variant, "--data", data,
                        "--bars", str(n), "--result", str(out)], check=True)
        return json.loads(out.read_text())


# -- the comparison --------------------------------------------------------------------------------
def first_difference(a: list[list[float]], b: list[list[float]]) -> str | None:
    """None when the trade lists agree (times exactly, prices to 1e-12); else where they part."""
    from datetime import datetime, timezone

    def show(trade: list[float] | None) -> str:
        if trade is None:
            return "(none)"
        when = [datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                for t in trade[:2]]
        return f"entry {when[0]} @ {trade[2]!r}, exit {when[1]} @ {trade[3]!r}"

    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        same = (x is not None and y is not None and x[:2] == y[:2]
                and all(math.isclose(p, q, rel_tol=1e-12) for p, q in zip(x[2:], y[2:])))
        if not same:
            return f"trade #{i + 1}:\n      replay:   {show(x)}\n      baseline: {show(y)}"
    return None


def report(title: str, replay: dict, baseline: dict) -> bool:
    rate = {k: r["bars"] / r["seconds"] for k, r in (("replay", replay), ("baseline", baseline))}
    ratio = rate["replay"] / rate["baseline"]
    diff = first_difference(replay["trades"], baseline["trades"])
    print(f"\n{title}")
    print(f"  {'':<40}{'bars/s':>12}{'run s':>9}{'peak RSS MB':>13}{'trades':>8}")
    for name, label in (("replay", "replay (run_replay, ArrayFeed)"),
                        ("baseline", "baseline (default Cerebro, PandasData)")):
        r = replay if name == "replay" else baseline
        print(f"  {label:<40}{rate[name]:>12,.0f}{r['seconds']:>9.2f}{r['peak_mb']:>13.0f}"
              f"{len(r['trades']):>8}")
    ok_ratio = ratio >= TARGET_RATIO
    print(f"  speed ratio replay/baseline: {ratio:.2f}x  (target >= {TARGET_RATIO:g}x: "
          f"{'met' if ok_ratio else 'MISSED'})")
    ok = ok_ratio and diff is None
    if replay["bars"] >= 1_000_000:
        ok_rss = replay["peak_mb"] < TARGET_RSS_MB
        ok = ok and ok_rss
        print(f"  replay peak RSS at {replay['bars']:,} bars: {replay['peak_mb']:.0f} MB  "
              f"(target < {TARGET_RSS_MB:g} MB: {'met' if ok_rss else 'MISSED'})")
    if diff is None:
        print(f"  same trades: yes ({len(replay['trades'])} round trips, times and prices)")
    else:
        print(f"  same trades: NO (target: same); first difference at {diff}")
    return ok


# -- whole process ---------------------------------------------------------------------------------
def timed(command: list[str], repeat: int) -> tuple[float, float]:
    """Best wall and CPU seconds of ``repeat`` runs of ``command`` (which must succeed)."""
    best_wall = best_cpu = math.inf
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=ENV, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def replay_trades(folder: Path) -> list[list[float]]:
    from datetime import datetime

    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    with (folder / "trades.csv").open() as fh:
        return [[ts(r["entry_time"]), ts(r["exit_time"]), float(r["entry_price"]), float(r["exit_price"])]
                for r in csv.DictReader(fh)]


def whole_process(n: int, repeat: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, config = folder / "bars.csv", folder / "bench.json"
        write_iso_csv(data, synthetic_bars(n))
        config.write_text(json.dumps(CONFIG))
        runs: dict[str, tuple[float, float]] = {}
        trades: dict[str, list] = {}
        for name, extra in (("replay", []), ("replay --no-pictures", ["--no-pictures"])):
            outs = [folder / f"out-{name.replace(' ', '')}-{i}" for i in range(repeat)]
            best = (math.inf, math.inf)
            for out in outs:  # a fresh --out each time: a replay never overwrites a report
                wall, cpu = timed([sys.executable, "-m", "trading.cli", "replay", str(config),
                                   "--data", str(data), "--out", str(out), "--warmup", "0",
                                   "--no-progress", *extra], 1)
                best = (min(best[0], wall), min(best[1], cpu))
            runs[name] = best
            trades[name] = replay_trades(outs[0])
        plain_out = folder / "plain.json"
        runs["plain Backtrader"] = timed([sys.executable, str(PLAIN), str(data), str(plain_out)], repeat)
        trades["plain Backtrader"] = json.loads(plain_out.read_text())

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine
    print(f"\nwhole process, {n:,} synthetic 1-minute bars (seed {SEED}), best of {repeat}; "
          f"load average {load}, cores {os.cpu_count()}")
    print(f"  {'':<26}{'wall s':>9}{'CPU s':>9}{'bars/s (wall)':>15}{'trades':>8}{'x plain (wall / CPU)':>24}")
    plain_wall, plain_cpu = runs["plain Backtrader"]
    ok = True
    for name, (wall, cpu) in runs.items():
        ratio = "" if name == "plain Backtrader" else f"{plain_wall / wall:.2f}x / {plain_cpu / cpu:.2f}x"
        print(f"  {name:<26}{wall:>9.2f}{cpu:>9.2f}{n / wall:>15,.0f}{len(trades[name]):>8}{ratio:>24}")
    for name in ("replay", "replay --no-pictures"):
        ratio = plain_wall / runs[name][0]
        met = ratio >= TARGET_PROCESS_RATIO
        ok = ok and met
        print(f"  {name}: {ratio:.2f}x plain Backtrader, whole process (target >= "
              f"{TARGET_PROCESS_RATIO:g}x: {'met' if met else 'MISSED'})")
        diff = first_difference(trades[name], trades["plain Backtrader"])
        print("  same trades as plain Backtrader: " + ("yes" if diff is None else f"NO, {diff}"))
        ok = ok and diff is None
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="store_true",
                        help="engine only, in process, with peak RSS (default: whole process)")
    parser.add_argument("--bars", type=int, help="synthetic bars (default 200,000 whole process, "
                                                 "1,000,000 engine only)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per whole-process variant (best counts)")
    parser.add_argument("--quick", action="store_true", help="50,000 (whole) or 100,000 (engine) bars")
    parser.add_argument("--child", choices=("replay", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--data", choices=("synthetic", "sample"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.bars, args.result)
        return 0
    if not args.engine:
        n = args.bars or (50_000 if args.quick else 200_000)
        ok = whole_process(n, 1 if args.quick else args.repeat)
        print(f"\nall targets met: {'yes' if ok else 'no'}")
        return 0
    n = args.bars or (100_000 if args.quick else 1_000_000)
    all_ok = True
    for data, title in (("synthetic", f"{n:,} synthetic 1-minute bars (seed {SEED})"),
                        ("sample", f"sample {SAMPLE.relative_to(REPO)}")):
        replay = measure("replay", data, n)
        baseline = measure("baseline", data, n)
        all_ok = report(title, replay, baseline) and all_ok
    print(f"\nall targets met: {'yes' if all_ok else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Replay throughput and memory: the documented strategy through ``run_replay`` vs plain Backtrader.

    python benchmarks/replay_throughput.py            # 1,000,000 synthetic 1m bars + the sample
    python benchmarks/replay_throughput.py --quick    # 100,000 synthetic bars + the sample

Replay: CustomStrategy with RSIBBVolumeEntryMixin (RSI 14 <= 30, close <= lower BB(20, 2.0),
volume > 1.5 x SMA(volume, 20)) and RSIBBExitMixin (RSI 14 >= 70, close >= upper BB(20, 2.0)),
position 0.1 of equity, commission 0.1%, 1000 initial, protective orders and risk limits off so
both sides trade the same rules. Baseline: a hand-written bt.Strategy with bt.indicators.RSI
(Wilder's, safediv), BollingerBands and SMA(volume), run by a default Cerebro over PandasData.

Each variant runs in its own subprocess so peak RSS (ru_maxrss) is its own; bars/s is measured
around ``cerebro.run()`` (preloading included) on both sides.
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _synthetic import REPO, SEED, synthetic_bars  # benchmarks/ is on sys.path as a script


SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
TARGET_RATIO = 2.0
TARGET_RSS_MB = 400.0
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
    result = run_replay(config, bars)
    trades = [[t.entry_time.timestamp(), t.exit_time.timestamp(), t.entry_price, t.exit_price]
              for t in result.trades]
    return result.seconds, trades


def run_baseline_variant(bars) -> tuple[float, list[list[float]]]:
    import backtrader as bt
    import pandas as pd

    class Baseline(bt.Strategy):
        """The same rules written the usual Backtrader way."""

        def __init__(self) -> None:
            self.rsi = bt.indicators.RSI(self.data.close, period=14, safediv=True)
            self.bb = bt.indicators.BollingerBands(self.data.close, period=20, devfactor=2.0)
            self.vol = bt.indicators.SMA(self.data.volume, period=20)
            self.pending = None
            self.entry: list[float] | None = None
            self.trades: list[list[float]] = []

        def next(self) -> None:
            if self.pending is not None:
                return
            close = self.data.close[0]
            if not self.position:
                if (self.rsi[0] <= 30 and close <= self.bb.bot[0]
                        and self.data.volume[0] > 1.5 * self.vol[0]):
                    self.pending = self.buy(size=0.1 * self.broker.getvalue() / close)
            elif self.rsi[0] >= 70 and close >= self.bb.top[0]:
                self.pending = self.close()

        def notify_order(self, order) -> None:
            if order.status in (order.Submitted, order.Accepted):
                return
            self.pending = None
            if order.status != order.Completed:
                return
            ts = round((self.data.datetime[0] - 719163.0) * 86400.0)
            if order.isbuy():
                self.entry = [ts, order.executed.price]
            elif self.entry is not None:
                self.trades.append([self.entry[0], ts, self.entry[1], order.executed.price])
                self.entry = None

    frame = pd.DataFrame({"open": bars.open, "high": bars.high, "low": bars.low,
                          "close": bars.close, "volume": bars.volume},
                         index=pd.to_datetime(bars.ts, unit="s"))
    cerebro = bt.Cerebro()  # the defaults: stdstats, runonce, preload
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.broker.setcash(1000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(Baseline)
    started = time.perf_counter()
    strategy = cerebro.run()[0]
    return time.perf_counter() - started, strategy.trades


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="synthetic bars (default 1M)")
    parser.add_argument("--quick", action="store_true", help="100,000 synthetic bars")
    parser.add_argument("--child", choices=("replay", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--data", choices=("synthetic", "sample"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.bars, args.result)
        return 0
    n = 100_000 if args.quick else args.bars
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

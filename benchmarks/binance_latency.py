"""Binance reaction time: the fake exchange writes a closed kline to the socket -> it receives
the order that kline causes.

    python benchmarks/binance_latency.py                 # 2,200 live klines, each leading to an order
    python benchmarks/binance_latency.py --bars 3000
    python benchmarks/binance_latency.py --wal-fold --fold-stall-ms 100   # under a concurrent WAL fold

The whole path as a user runs it: the real bot (``tradingbot run`` in a subprocess, its own
process as in production) on the ``binance_paper`` broker, python-binance against the loopback
fake exchange (tests/fakes/binance). Each closed kline travels fake -> WebSocket -> the bot's I/O
thread -> feed queue -> Backtrader -> CustomStrategy -> BinanceBroker -> I/O thread -> signed REST
POST /api/v3/order -> fake. The strategy trades on every bar (entry RSIOrBBEntryMixin with
oversold 100, so RSI always qualifies; exit TimeBasedExitMixin after 1 bar), so every closed
kline leads to one market order: a buy, then a sell, alternately. The fake closes the next kline
only once the bot has checkpointed the last one and its order was answered, so each measurement
starts with the bot idle-waiting, as in live trading. Both stamps are ``time.perf_counter()``
(CLOCK_MONOTONIC, one clock for both processes).

With ``--wal-fold [SECONDS]`` the bot folds its SQLite write-ahead log every SECONDS (default
0.25 with the flag; the bot's own period is 2 s) and ``--fold-stall-ms MS`` makes every fold also
wait MS ms with the GIL released, as a fold's fsync does on a slow or busy disk. The bot then
runs through a small wrapper (``FOLDING_BOT``) that sets both before the CLI starts, and reports
its folds on exit.

Figures, not a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]

from binance_workspace import BinanceWorkspace, klines_answered, lockstep, sample_bars  # noqa: E402
from bot_workspace import wait_until  # noqa: E402
from fakes.binance import FakeBinance  # noqa: E402

TARGET_P99_MS = 5.0
HISTORY = 100
# the bot's CLI, run with its WAL folded every {period} s, each fold stalled {stall} s
FOLDING_BOT = """
import atexit, runpy, sys, time
import trading.runtime.bot as bot
from trading.persistence.repository import Store
bot.WAL_FLUSH_SECONDS = {period!r}
folds = []
fold = Store.flush_wal
def timed_fold(self):
    t0 = time.perf_counter()
    fold(self)
    time.sleep({stall!r})
    folds.append(time.perf_counter() - t0)
Store.flush_wal = timed_fold
@atexit.register
def report():
    f = sorted(folds)
    if f:
        print(f"WAL folds: {{len(f)}}, p50 {{f[len(f) // 2] * 1000:.1f}} ms, "
              f"max {{f[-1] * 1000:.1f}} ms", file=sys.stderr)
sys.argv = {argv!r}
runpy.run_path(sys.argv[0], run_name="__main__")
"""


class FoldingWorkspace(BinanceWorkspace):
    """The bot run through ``FOLDING_BOT``: its WAL folded every ``period`` s, stalled ``stall`` s."""

    def __init__(self, *args, period: float, stall: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.period, self.stall = period, stall

    def command(self, *extra: str) -> list[str]:
        python, *argv = super().command(*extra)
        return [python, "-c", FOLDING_BOT.format(period=self.period, stall=self.stall, argv=argv)]


EVERY_BAR = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 100}},
             "exit_logic": [{"name": "TimeBasedExitMixin", "params": {"x_max_bars": 1}}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2200, help="live klines to play (>= 2,000)")
    parser.add_argument("--wal-fold", type=float, nargs="?", const=0.25, default=None,
                        metavar="SECONDS", help="the bot folds its SQLite WAL every SECONDS "
                        "(default 0.25 with the flag; 2 s, the bot's own period, without it)")
    parser.add_argument("--fold-stall-ms", type=float, default=0.0,
                        help="each WAL fold also waits this many ms, GIL released (a slow disk)")
    args = parser.parse_args()
    bars = sample_bars(HISTORY + args.bars + 1)
    fake = FakeBinance(bars, history=HISTORY, balances={"BTC": 1.0}).start()
    with tempfile.TemporaryDirectory() as root:
        if args.wal_fold is None and not args.fold_stall_ms:
            ws = BinanceWorkspace(Path(root), fake, bot_id="9001")
        else:
            ws = FoldingWorkspace(Path(root), fake, bot_id="9001",
                                  period=args.wal_fold if args.wal_fold is not None else 2.0,
                                  stall=args.fold_stall_ms / 1000.0)
        ws.write_binance_config(broker="binance_paper", lookback=60, strategy=EVERY_BAR,
                                risk_management={"stop_loss_pct": 0, "take_profit_pct": 0,
                                                 "max_daily_trades": 0, "max_daily_loss": 0,
                                                 "max_orders_per_minute": 0},
                                logging={"level": "WARNING"})
        proc = ws.start()
        started = time.perf_counter()
        try:
            if not wait_until(lambda: klines_answered(fake), proc, timeout=60):
                print(proc.communicate(timeout=10)[1], file=sys.stderr)
                return 1
            fake.play(gate=lockstep(ws, fake), timeout=3600)
            wait_until(lambda: ws.checkpointed(bars[-2].ts), proc, timeout=3600, poll=0.05)
        finally:
            fake.stop_playing()
            proc.send_signal(signal.SIGINT)
            try:
                stderr = proc.communicate(timeout=60)[1]
            except subprocess.TimeoutExpired:
                proc.kill()
                stderr = proc.communicate()[1]
            fake.stop()
        seconds = time.perf_counter() - started
    latencies = []
    for client_id, received in fake.order_received_at:
        bar_ts = int(client_id.split("-")[1])
        sent = fake.kline_sent_at.get(bar_ts * 1000)
        if sent is not None and received > sent:
            latencies.append((received - sent) * 1000)
    if not latencies:
        print("no order was measured", file=sys.stderr)
        return 1
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"closed kline written by the fake -> order request received ({len(latencies):,} "
          f"orders, {args.bars:,} live klines, {seconds:.1f}s):")
    print(f"  p50 {statistics.median(latencies):.2f} ms   p99 {p99:.2f} ms   "
          f"max {latencies[-1]:.2f} ms   (target p99 < {TARGET_P99_MS:g} ms)")
    for line in (stderr or "").splitlines():
        if line.startswith("WAL folds:"):
            print(f"  {line} (every {ws.period:g} s, each stalled {ws.stall * 1000:g} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

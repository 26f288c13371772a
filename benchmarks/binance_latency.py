"""Binance reaction time: the fake exchange writes a closed kline to the socket -> it receives
the order that kline causes.

    python benchmarks/binance_latency.py                 # 2,200 live klines, each leading to an order
    python benchmarks/binance_latency.py --bars 3000

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

Figures, not a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import signal
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
EVERY_BAR = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 100}},
             "exit_logic": [{"name": "TimeBasedExitMixin", "params": {"x_max_bars": 1}}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2200, help="live klines to play (>= 2,000)")
    args = parser.parse_args()
    bars = sample_bars(HISTORY + args.bars + 1)
    fake = FakeBinance(bars, history=HISTORY, balances={"BTC": 1.0}).start()
    with tempfile.TemporaryDirectory() as root:
        ws = BinanceWorkspace(Path(root), fake, bot_id="9001")
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
            proc.communicate(timeout=60)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Interactive Brokers reaction time: the fake TWS finishes a bar -> it receives the placeOrder
that bar causes.

    python benchmarks/ibkr_latency.py                 # 2,000 bar updates, each leading to an order
    python benchmarks/ibkr_latency.py --bars 3000

The whole path as a user runs it: the real bot (``tradingbot run`` in a subprocess, its own
process as in production) with ``ibkr`` data and the ``ibkr`` broker, ib_async against the
loopback TWS (tests/fakes/tws). Each bar travels fake -> historicalDataUpdate (the closed bar,
then the next one opening) -> the bot's I/O thread -> feed queue -> Backtrader -> CustomStrategy
-> IbkrBroker -> I/O thread -> placeOrder -> fake. The strategy trades on every bar (entry
RSIOrBBEntryMixin with oversold 100, so RSI always qualifies; exit TimeBasedExitMixin after 1
bar), so every bar leads to one market order: a buy, then a sell, alternately. The fake closes
the next bar only once the bot has checkpointed the last one and its order reached TWS, so each
measurement starts with the bot idle-waiting, as in live trading. Both stamps are taken in this
process (the fake's): ``time.time()`` once the fake has written the bar, and when its order desk
records the placeOrder.

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

from bot_workspace import wait_until  # noqa: E402
from fakes.tws import FakeTWS  # noqa: E402
from ibkr_workspace import IbkrWorkspace, Market, lockstep, sample_bars  # noqa: E402

TARGET_P99_MS = 5.0
HISTORY = 100
EVERY_BAR = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 100}},
             "exit_logic": [{"name": "TimeBasedExitMixin", "params": {"x_max_bars": 1}}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2000, help="bar updates to play (>= 2,000)")
    parser.add_argument("--pace", type=float, default=0.05,
                        help="seconds at least between two bars (default 0.05: ib_async keeps "
                             "under TWS's 50 messages a second by queueing requests, which a "
                             "faster market would measure instead of the bot)")
    args = parser.parse_args()
    bars = sample_bars(HISTORY + args.bars + 1)
    tws = FakeTWS().start()
    tws.set_fill_policy(auto=True, per_share=0.005, minimum=1.0)
    market = Market(tws, bars, HISTORY)
    finished: dict[int, float] = {}  # bar open time -> when the fake had written it
    with tempfile.TemporaryDirectory() as root:
        ws = IbkrWorkspace(Path(root), tws, bot_id="9001")
        ws.write_ibkr_config(lookback=60, strategy=EVERY_BAR,
                             risk_management={"stop_loss_pct": 0, "take_profit_pct": 0,
                                              "max_daily_trades": 0, "max_daily_loss": 0,
                                              "max_orders_per_minute": 0},
                             logging={"level": "WARNING"})
        proc = ws.start()
        started = time.perf_counter()
        try:
            if not wait_until(lambda: len(tws.historical) > 0, proc, timeout=60):
                print(proc.communicate(timeout=10)[1], file=sys.stderr)
                return 1
            gate = lockstep(ws, market)
            previous = 0.0
            while not market.done:
                time.sleep(max(0.0, previous + args.pace - time.monotonic()))
                if not wait_until(gate, proc, timeout=60, poll=0.001):
                    print("the bot stopped following the market", file=sys.stderr)
                    break
                bar = market.bars[market.closed]
                previous = time.monotonic()
                placed = len(tws.book.orders)  # read only: a dict's size, safe from this thread
                market.advance()
                finished[int(bar.ts)] = time.time()
                # quiet while the bot reacts: no polling of its database until the order is in
                tws.wait_for(lambda: len(tws.book.orders) > placed, timeout=1.0)
            wait_until(lambda: ws.checkpointed(bars[-2].ts), proc, timeout=120, poll=0.05)
            orders = tws.orders()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
            tws.stop()
        seconds = time.perf_counter() - started
    latencies = []
    for order in orders:
        bar_ts = int(order.order_ref.split("-")[1])
        sent = finished.get(bar_ts)
        if sent is not None and order.placed_at > sent:
            latencies.append((order.placed_at - sent) * 1000)
    if not latencies:
        print("no order was measured", file=sys.stderr)
        return 1
    slowest = sorted(range(len(latencies)), key=latencies.__getitem__)[-3:][::-1]
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"bar finished by the fake TWS -> placeOrder received ({len(latencies):,} orders, "
          f"{args.bars:,} bar updates, {seconds:.1f}s):")
    print(f"  p50 {statistics.median(latencies):.2f} ms   p99 {p99:.2f} ms   "
          f"max {latencies[-1]:.2f} ms   (target p99 < {TARGET_P99_MS:g} ms)")
    print("  slowest orders (n-th of the run): " + ", ".join(f"#{i + 1}" for i in slowest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

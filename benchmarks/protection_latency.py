"""Protection at fill time: an entry fills at the venue -> its stop-loss reaches the venue, and
-> the open position is committed to the bot's database, while no bar arrives.

    python benchmarks/protection_latency.py                    # Binance and IBKR, 200+ entries each
    python benchmarks/protection_latency.py --venue binance --entries 300

The whole path as a user runs it: the real bot (``tradingbot run`` in a subprocess) with a
``binance_paper`` or ``ibkr`` broker against the loopback fakes (tests/fakes), with a stop-loss
(5%) and a take-profit (10%). The strategy enters on every bar and leaves after one bar held
(entry RSIOrBBEntryMixin with oversold 100, exit TimeBasedExitMixin), so each entry is one
measurement. The market is held still after every entry: the next bar closes only once the
entry's stop-loss has reached the venue, or after 30 s (counted as 30 s: a bot that protects a
position only at the next bar shows up as 30,000 ms here). Each fill travels venue -> user stream
or TWS execution -> the bot's I/O thread -> the order updates -> Cerebro's loop woken between bars
-> the strategy -> the protective orders -> the venue.

- fill -> protective order: both stamps are the fake's (Binance: ``time.perf_counter()`` when it
  fills the market order and when it receives the OCO; IBKR: ``time.time()`` of the execution
  and of the stop order's placeOrder).
- fill -> position committed: the fill's wall-clock time at the fake -> this script first sees
  the position's row in the bot's SQLite database (read-only, polled every 0.25 ms from the
  moment a bar closes), so the figure is up to ~0.3 ms above the truth. The market also waits
  for that row before the next bar.

Figures, not a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]

from bot_workspace import epoch_of, wait_until  # noqa: E402

TARGET_P99_MS = 10.0
HOLD_SECONDS = 30.0  # the market waits this long at most for an entry's protection
HISTORY = 100
INTERVAL = 300  # the 5m bars of the sample
EVERY_BAR = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 100}},
             "exit_logic": [{"name": "TimeBasedExitMixin", "params": {"x_max_bars": 1}}]}
RISK = {"stop_loss_pct": 5.0, "take_profit_pct": 10.0, "max_daily_trades": 0,
        "max_daily_loss": 0, "max_orders_per_minute": 0}


class CommitWatch:
    """Notes when each position (by its entry time) first shows in the bot's database.

    ``arm()`` (called as each bar closes) starts polling the database (read-only, every
    0.25 ms) until a position not seen before shows or a second passes; the rest of the time
    it stays off the CPU. ``seen`` maps entry times to ``time.time()`` when first seen."""

    POLL = 0.00025

    def __init__(self, db: Path) -> None:
        self.db = db
        self.seen: dict[int, float] = {}
        self._armed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watch", daemon=True)

    def start(self) -> "CommitWatch":
        self._thread.start()
        return self

    def arm(self) -> None:
        self._armed.set()

    def stop(self) -> None:
        self._stop.set()
        self._armed.set()
        self._thread.join(5)

    def _run(self) -> None:
        con = None
        while not self._stop.is_set():
            self._armed.wait()
            self._armed.clear()
            deadline = time.monotonic() + 1.0
            while not self._stop.is_set() and time.monotonic() < deadline:
                if con is None and self.db.exists():
                    con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1,
                                          check_same_thread=False)
                try:
                    rows = con.execute("SELECT entry_ts FROM positions").fetchall() if con else []
                except sqlite3.OperationalError:
                    rows = []
                now = time.time()
                new = [int(epoch_of(e)) for (e,) in rows if int(epoch_of(e)) not in self.seen]
                for ts in new:
                    self.seen[ts] = now
                if new:
                    break
                time.sleep(self.POLL)
        if con is not None:
            con.close()


def entry_time(client_id: str) -> int:
    """The position's entry time for an entry order ``<bot>-<decision bar>-entry``: it fills
    in the bar after the one that decided it."""
    return int(client_id.split("-")[-2]) + INTERVAL


# -- Binance -------------------------------------------------------------------------------------
def run_binance(entries: int) -> tuple[list[float], list[float], int]:
    from binance_workspace import BinanceWorkspace, klines_answered, lockstep, sample_bars
    from fakes.binance import FakeBinance

    bars = sample_bars(HISTORY + 2 * entries + 4)
    fake = FakeBinance(bars, history=HISTORY, balances={"BTC": 1.0}).start()
    with tempfile.TemporaryDirectory() as root:
        ws = BinanceWorkspace(Path(root), fake, bot_id="9101")
        ws.write_binance_config(broker="binance_paper", lookback=60, strategy=EVERY_BAR,
                                risk_management=RISK, logging={"level": "WARNING"})

        def entry_fills(wall: bool = False) -> dict[str, float]:
            with fake.lock:
                return {cid: at[1 if wall else 0] for cid, at in fake.filled_at.items()
                        if cid.endswith("-entry")}

        def protected() -> dict[int, float]:  # entry time -> when its OCO arrived
            with fake.lock:
                return {int(cid.split("-")[-2]): at for cid, at in fake.order_received_at
                        if cid.endswith("-sl")}

        watch = CommitWatch(ws.db_path).start()
        base = lockstep(ws, fake)

        def gate() -> bool:
            now, done = time.perf_counter(), protected()
            for cid, at in entry_fills().items():
                waiting = entry_time(cid) not in done or entry_time(cid) not in watch.seen
                if waiting and now - at < HOLD_SECONDS:
                    return False  # the market holds still: no bar until the stop is out
            if not base():
                return False
            watch.arm()  # the next bar closes now: its entry fills a moment later
            return True

        proc = ws.start()
        try:
            if not wait_until(lambda: klines_answered(fake), proc, timeout=60):
                raise SystemExit(proc.communicate(timeout=10)[1])
            fake.play(gate=gate, timeout=3600)
            wait_until(lambda: ws.checkpointed(bars[-2].ts), proc, timeout=3600, poll=0.05)
        finally:
            fake.stop_playing()
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
            watch.stop()
            fake.stop()
        return measured(entry_fills(), protected(), entry_fills(wall=True), watch.seen)


# -- IBKR ----------------------------------------------------------------------------------------
def run_ibkr(entries: int) -> tuple[list[float], list[float], int]:
    from fakes.tws import FakeTWS
    from ibkr_workspace import IbkrWorkspace, Market, lockstep, sample_bars

    bars = sample_bars(HISTORY + 2 * entries + 4)
    tws = FakeTWS().start()
    tws.set_fill_policy(auto=True, per_share=0.005, minimum=1.0)
    market = Market(tws, bars, HISTORY)
    with tempfile.TemporaryDirectory() as root:
        ws = IbkrWorkspace(Path(root), tws, bot_id="9102")
        ws.write_ibkr_config(lookback=60, strategy=EVERY_BAR, risk_management=RISK,
                             logging={"level": "WARNING"})
        fills: dict[str, float] = {}
        stops: dict[int, float] = {}

        def refresh() -> None:  # the fake's own records, copied on its loop
            for e in tws.executions():
                if e.order.order_ref.endswith("-entry"):
                    fills.setdefault(e.order.order_ref, e.at)
            for o in tws.orders():
                if o.order_ref.endswith("-sl"):
                    stops.setdefault(int(o.order_ref.split("-")[-2]), o.placed_at)

        watch = CommitWatch(ws.db_path).start()
        base = lockstep(ws, market)

        def gate() -> bool:
            refresh()
            now = time.time()
            for cid, at in list(fills.items()):
                waiting = entry_time(cid) not in stops or entry_time(cid) not in watch.seen
                if waiting and now - at < HOLD_SECONDS:
                    return False
            return base()

        proc = ws.start()
        try:
            if not wait_until(lambda: len(tws.historical) > 0, proc, timeout=60):
                raise SystemExit(proc.communicate(timeout=10)[1])
            previous = 0.0
            while not market.done:
                # ib_async paces requests under TWS's 50 messages a second: bars 50 ms apart
                time.sleep(max(0.0, previous + 0.05 - time.monotonic()))
                if not wait_until(gate, proc, timeout=HOLD_SECONDS + 30, poll=0.001):
                    print("the bot stopped following the market", file=sys.stderr)
                    break
                previous = time.monotonic()
                watch.arm()
                market.advance()
            wait_until(lambda: ws.checkpointed(bars[-2].ts), proc, timeout=120, poll=0.05)
            refresh()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
            watch.stop()
            tws.stop()
        return measured(fills, stops, fills, watch.seen)


def measured(fills: dict[str, float], protected: dict[int, float], fills_wall: dict[str, float],
             committed: dict[int, float]) -> tuple[list[float], list[float], int]:
    """(fill -> protection ms, fill -> commit ms, entries never protected). ``fills`` and
    ``protected`` share the fake's clock; ``fills_wall`` and ``committed`` are wall clocks."""
    protection, commit, missing = [], [], 0
    for cid, at in fills.items():
        ts = entry_time(cid)
        if ts in protected:
            protection.append(max(0.0, protected[ts] - at) * 1000)
        else:
            missing += 1
            protection.append(HOLD_SECONDS * 1000)
        if ts in committed:
            commit.append(max(0.0, committed[ts] - fills_wall[cid]) * 1000)
    return protection, commit, missing


def describe(values: list[float]) -> str:
    if not values:
        return "no measurement"
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (f"p50 {statistics.median(values):.2f} ms   p99 {p99:.2f} ms   max {values[-1]:.2f} ms"
            f"   ({len(values)} entries)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venue", choices=("binance", "ibkr", "both"), default="both")
    parser.add_argument("--entries", type=int, default=210, help="entries to measure (>= 200)")
    args = parser.parse_args()
    venues = ("binance", "ibkr") if args.venue == "both" else (args.venue,)
    for venue in venues:
        started = time.perf_counter()
        protection, commit, missing = (run_binance if venue == "binance" else run_ibkr)(args.entries)
        print(f"{venue} ({time.perf_counter() - started:.0f} s), no bar after the fill:")
        print(f"  entry filled -> stop-loss received by the venue: {describe(protection)}"
              f"   (target p99 < {TARGET_P99_MS:g} ms)")
        print(f"  entry filled -> position committed:             {describe(commit)}")
        if missing:
            print(f"  {missing} entr{'y' if missing == 1 else 'ies'} got no protection within "
                  f"{HOLD_SECONDS:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

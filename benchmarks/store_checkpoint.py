"""Mean time of ``Store.checkpoint`` (the live bot's per-bar cost), by default on a SQLite file
in WAL mode, or on any database given with ``--url`` (e.g. a fresh PostgreSQL database).

    python benchmarks/store_checkpoint.py [--bars 5000] [--url postgresql://user@host/db]

Prints the mean and percentiles of three bar shapes: a flat bar, a bar holding a position, and a
bar that closes a trade (order events, a trade row, the position deleted).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from strategies.mixins.base import OpenTrade
from trading.core.events import OrderEvent, TradeClosed
from trading.risk import RiskState
from trading.persistence.repository import Store


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _bar_kwargs(i: int, shape: str) -> dict:
    ts = 1_700_000_000.0 + 60.0 * i
    risk = RiskState(day=int(ts // 86400), day_start_equity=10_000.0, peak_equity=10_050.0,
                     order_times=[ts - 60.0, ts]).to_dict()
    position = orders = trades = None
    if shape in ("holding", "closing"):
        position = OpenTrade(symbol="BTCUSDT", size=0.1, entry_price=42_000.0, entry_ts=ts - 600,
                             bars_held=i % 50, state={"ATRExitMixin": {"stop": 41_000.0 + i},
                                                      "TimeBasedExitMixin": {"bars": i % 50}})
    if shape == "closing":
        cid = f"tb-{int(ts)}-exit"
        orders = [OrderEvent(time=_at(ts), symbol="BTCUSDT", client_order_id=cid, side="sell",
                             order_type="market", size=0.1, status=status, purpose="exit",
                             reason="atr_stop", filled_size=0.1 if status == "filled" else 0.0,
                             fill_price=42_100.0 if status == "filled" else None)
                  for status in ("submitted", "accepted", "filled")]
        trades = [TradeClosed(entry_time=_at(ts - 600), exit_time=_at(ts), symbol="BTCUSDT",
                              side="long", size=0.1, entry_price=42_000.0, exit_price=42_100.0,
                              pnl=9.0, pnl_pct=0.2, fees=1.0, exit_reason="atr_stop", bars_held=10,
                              entry_mixin="RSIBBEntryMixin")]
        position = None
    return dict(bar_ts=ts, cash=5_000.0 + i, value=10_000.0 + i, orders=orders or (),
                trades=trades or (), positions={position.symbol: position} if position else {},
                risk_state=risk, save_equity=True,
                exit_mixins="ATRExitMixin,TimeBasedExitMixin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=5000, help="checkpoints per bar shape")
    parser.add_argument("--url", help="database URL (default: a SQLite file in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store.register_bot("bench", None, "checkpoint benchmark")
        print(f"{store.url}: {args.bars} checkpoints per shape")
        i = 0
        for shape in ("flat", "holding", "closing"):
            times = []
            for _ in range(args.bars):
                kwargs = _bar_kwargs(i, shape)
                start = time.perf_counter()
                store.checkpoint("bench", **kwargs)
                times.append(time.perf_counter() - start)
                i += 1
            q = statistics.quantiles(times, n=100)
            print(f"{shape:>8}: mean {statistics.fmean(times) * 1e6:7.1f} us   "
                  f"p50 {q[49] * 1e6:7.1f} us   p99 {q[98] * 1e6:7.1f} us")
        store.close()


if __name__ == "__main__":
    main()

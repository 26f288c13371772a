"""Live reaction time: closed bar put on the feed queue -> the order it causes reaches the broker.

    python benchmarks/live_latency.py                    # 3,000 live bars, synthetic 1m walk
    python benchmarks/live_latency.py --bars 2000 --data sample   # the bundled ETH/BTC 5m bars
    python benchmarks/live_latency.py --notify           # every channel on, Telegram answering in 200 ms
    python benchmarks/live_latency.py --wal-fold --fold-stall-ms 100   # under a concurrent WAL fold

The real live path, in one process as the bot runs it: ``LiveTradingBot`` (Store on a SQLite
file in a temp folder, RiskManager, BotListener checkpointing every bar, the journal and INFO
file logging on) with a ``BarSink`` -> ``LiveFeed`` in ``Cerebro(runonce=False, preload=False,
exactbars=1)``, a PaperBroker and CustomStrategy from ``strategy_setup``. Only the bar source is
the benchmark's: a coroutine on the bot's IOThread that delivers ``--history`` warm-up bars, waits
for them to be consumed, then puts one closed bar every 2-5 ms (uniform, seeded), so Backtrader is
idle-waiting on the queue when each bar lands, as in live trading. It stamps
``time.perf_counter()`` just before each put; a PaperBroker subclass stamps on entry to
``buy``/``sell``; the bot's per-bar hook stamps after the checkpoint committed (``next()`` done).

The strategy trades often so thousands of orders are measured: entry RSIOrBBEntryMixin (RSI 14
<= 60 OR close <= lower BB(20, 2)), exit TimeBasedExitMixin (1 bar held), stop loss 5% and take
profit 10% as protective broker orders. A round trip is: bar k entry signal -> market buy;
bar k+1 the buy fills at the open, the stop/limit pair is placed, the exit fires -> market sell;
bar k+2 the sell fills.

With ``--notify`` every channel is on for every event kind, against the loopback fakes of the
test suite (tests/fakes: a Telegram Bot API server answering each message after ``--telegram-delay``
seconds, aiosmtpd with STARTTLS and AUTH, a webhook receiver): the notifier works on the bot's I/O
thread while bars arrive, and the figures show what that costs the bar -> order path.

With ``--wal-fold [SECONDS]`` the bot folds its SQLite write-ahead log every SECONDS (default
0.25; without the flag, the bot's own period ``trading.runtime.bot.WAL_FLUSH_SECONDS``, 2 s)
while bars arrive, and each fold is timed. ``--fold-stall-ms MS`` makes every fold also wait MS
ms with the GIL released, as a fold's fsync does on a slow or busy disk (the issue measured
~100 ms per ``PRAGMA wal_checkpoint`` there). "I/O loop lag" is how late each bar is put against
its schedule: anything that blocks the I/O thread's event loop shows there.

"Where a bar's time goes" splits each bar on the Cerebro thread: put -> the feed's ``load()``
returns it (the wake), -> ``next()`` reaches the listener's ``on_bar`` (the broker's fills and
notifications, the protective orders placed on a fill, the indicators), -> the checkpoint starts
(risk, the decision, its order), the checkpoint, and what follows it (journal). "CPU" is the
Cerebro thread's own CPU time (``time.thread_time``) from ``load()`` returning the bar to the
checkpoint committed: steadier than wall time on a busy machine.

Figures, not a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import _live_harness as h  # benchmarks/ is on sys.path when this file runs as a script

import backtrader as bt  # noqa: E402
from feeds.csv_bars import BarArrays, load_bars  # noqa: E402
from feeds.live import DELAYED, LIVE, BarSink, SinkClosed  # noqa: E402

TARGET_P99_MS = 5.0
SAMPLE = h.REPO / "data" / "sample" / "ETHBTC-5m.csv"


class PacedSource:
    """A BarSource: history as fast as taken, then one live bar every ``gap_ms`` (random range)."""

    def __init__(self, bars: BarArrays, history: int, gap_ms: tuple[float, float], seed: int,
                 gc_pauses: h.GcPauses | None = None):
        self.bars = bars
        self.gc_pauses = gc_pauses
        self.history = history
        self.gap_ms = gap_ms
        self.rng = random.Random(seed)
        self.put_at: dict[float, float] = {}  # live bar ts -> perf_counter just before the put
        self.lag: list[float] = []  # per live bar: seconds between its due time and its put

    def describe(self) -> str:
        return f"paced source ({len(self.bars) - self.history} live bars)"

    async def run(self, sink: BarSink) -> None:
        try:
            await self._deliver(sink)
        except SinkClosed:
            pass

    async def _deliver(self, sink: BarSink) -> None:
        bars, history = self.bars, self.history
        await sink.put_status(DELAYED)
        for i in range(history):
            await sink.put_bar(bars.bar(i), history=True, last_history=i == history - 1)
        await sink.put_status(LIVE)
        while not sink.queue.empty():  # let the warm-up drain: live bars must find an idle consumer
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.1)
        if self.gc_pauses is not None:
            self.gc_pauses.active = True  # count collections from the first live bar on
        loop = asyncio.get_running_loop()
        due = loop.time()
        lo, hi = self.gap_ms
        put_at = self.put_at
        for i in range(history, len(bars)):
            due += self.rng.uniform(lo, hi) / 1000.0  # a fixed schedule: the market does not wait
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            bar = bars.bar(i)
            self.lag.append(max(0.0, loop.time() - due))  # the loop's clock is monotonic too
            put_at[bar.ts] = time.perf_counter()
            await sink.put_bar(bar)
        if self.gc_pauses is not None:
            self.gc_pauses.active = False
        await sink.end()


def stats_line(label: str, values_s: list[float], target_ms: float | None = None) -> str:
    v = sorted(x * 1000.0 for x in values_s)
    if not v:
        return f"  {label:<44} (none)"
    line = (f"  {label:<44} n={len(v):>6}  p50 {h.percentile(v, 50):7.3f}  "
            f"p90 {h.percentile(v, 90):7.3f}  p99 {h.percentile(v, 99):7.3f}  "
            f"max {v[-1]:8.3f} ms")
    if target_ms is not None:
        p99 = h.percentile(v, 99)
        line += f"   (target p99 < {target_ms:g} ms: {'met' if p99 < target_ms else 'MISSED'})"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=3000, help="live bars (default 3000)")
    parser.add_argument("--history", type=int, default=100, help="warm-up bars (default 100)")
    parser.add_argument("--gap-ms", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX"),
                        help="time between live bars, uniform (default 2 5)")
    parser.add_argument("--data", choices=("synthetic", "sample"), default="synthetic",
                        help="seeded 1m random walk (default) or data/sample/ETHBTC-5m.csv")
    parser.add_argument("--seed", type=int, default=h.SEED)
    parser.add_argument("--switchinterval", type=float, default=None,
                        help="sys.setswitchinterval seconds (default: Python's 0.005)")
    parser.add_argument("--notify", action="store_true",
                        help="every notification channel on, against loopback fakes")
    parser.add_argument("--telegram-delay", type=float, default=0.2,
                        help="seconds the Telegram fake takes per message (default 0.2)")
    parser.add_argument("--wal-fold", type=float, nargs="?", const=0.25, default=None,
                        metavar="SECONDS", help="fold the SQLite WAL every SECONDS while bars "
                        "arrive (default 0.25 with the flag; the bot's own period without it)")
    parser.add_argument("--fold-stall-ms", type=float, default=0.0,
                        help="each WAL fold also waits this many ms, GIL released (a slow disk)")
    args = parser.parse_args(argv)
    if args.switchinterval is not None:
        sys.setswitchinterval(args.switchinterval)
    import trading.runtime.bot as bot_module
    if args.wal_fold is not None:
        bot_module.WAL_FLUSH_SECONDS = args.wal_fold

    need = args.history + args.bars
    if args.data == "sample":
        bars, interval = load_bars(SAMPLE), "5m"
        if len(bars) < need:
            raise SystemExit(f"{SAMPLE.name} has {len(bars)} bars; --history + --bars must be <= that")
        bars = bars.slice(0, need)
    else:
        bars, interval = h.synthetic_bars(need, seed=args.seed), "1m"

    with tempfile.TemporaryDirectory(prefix="live_latency_") as tmp_name:
        tmp = Path(tmp_name)
        undo_cd = h.in_workdir(tmp)  # the bot writes logs/ (log, journal, status) under the cwd
        try:
            csv = tmp / "bars.csv"
            h.write_csv(bars, csv)  # what the config's FileBarSource reads; the paced source replaces it
            doc = h.bot_document(h.BUSY_STRATEGY, file_path=str(csv), interval=interval,
                                 lookback_bars=args.history, save_equity=True, save_trades=True)
            doc["database"] = {"url": f"sqlite:///{tmp / 'bench.sqlite'}"}
            fakes = h.NotifyFakes(tmp, args.telegram_delay) if args.notify else None
            if fakes is not None:
                doc["notifications"] = fakes.section()
            config = h.build_bot_config(doc, tmp)
            h.file_logging(tmp / "bot.log")

            gc_pauses = h.GcPauses()
            source = PacedSource(bars, args.history, tuple(args.gap_ms), args.seed, gc_pauses)
            started: dict[float, float] = {}  # bar ts -> next() start (listener.on_bar)
            done: dict[float, float] = {}  # bar ts -> after the checkpoint (next() done)
            loaded: dict[float, tuple[float, float]] = {}  # bar ts -> load() returned (wall, CPU)
            checkpoint_at: dict[float, tuple[float, float]] = {}  # bar ts -> checkpoint start, end
            cpu: list[float] = []  # Cerebro thread CPU per live bar, load() returned -> committed
            checkpoint_s: list[float] = []
            checkpoint_cpu: list[float] = []
            folds_s: list[float] = []

            def on_built(bot: h.BenchBot) -> None:
                listener, store, feed = bot.listener, bot.store, bot.feed
                on_bar, checkpoint, load = listener.on_bar, store.checkpoint, feed.load
                flush_wal = store.flush_wal

                def timed_load():
                    got = load()
                    if got and not feed.is_warmup():
                        loaded[feed.current_bar().ts] = (time.perf_counter(), time.thread_time())
                    return got

                def timed_on_bar(bar, value, cash, warmup):
                    if not warmup:
                        started[bar.ts] = time.perf_counter()
                    return on_bar(bar, value, cash, warmup)

                def timed_checkpoint(*a, **kw):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    try:
                        return checkpoint(*a, **kw)
                    finally:
                        t1 = time.perf_counter()
                        checkpoint_cpu.append(time.thread_time() - c0)
                        checkpoint_s.append(t1 - t0)
                        checkpoint_at[kw["bar_ts"]] = (t0, t1)

                def timed_flush_wal():
                    t0 = time.perf_counter()
                    try:
                        flush_wal()
                        if args.fold_stall_ms:
                            time.sleep(args.fold_stall_ms / 1000.0)  # a slow fsync: GIL released
                    finally:
                        folds_s.append(time.perf_counter() - t0)

                feed.load = timed_load  # Backtrader's data.next() calls self.load()
                listener.on_bar = timed_on_bar
                store.checkpoint = timed_checkpoint
                store.flush_wal = timed_flush_wal

            def on_bar_done(bar) -> None:
                done[bar.ts] = time.perf_counter()
                took = loaded.get(bar.ts)
                if took is not None:
                    cpu.append(time.thread_time() - took[1])

            bot = h.BenchBot(config, source=source, on_bar_done=on_bar_done, on_built=on_built)
            print(f"live latency: {args.bars:,} live bars ({args.data}, {interval}) after "
                  f"{args.history} warm-up bars, one every {args.gap_ms[0]:g}-{args.gap_ms[1]:g} ms; "
                  f"Python {sys.version.split()[0]}, switchinterval {sys.getswitchinterval() * 1000:g} ms; "
                  f"notifications {'ON (telegram, email, webhook)' if args.notify else 'off'}; "
                  f"WAL fold every {bot_module.WAL_FLUSH_SECONDS:g} s"
                  + (f" + {args.fold_stall_ms:g} ms stall" if args.fold_stall_ms else ""))
            t0 = time.perf_counter()
            summary = bot.run()
            wall = time.perf_counter() - t0
            gc_pauses.close()
            broker = bot.broker
            still_live = h.live_protective_orders(broker)
            open_trade = summary.open_position
            db_size = (tmp / "bench.sqlite").stat().st_size / 1e6
            if fakes is not None:
                notified = fakes.received()
        finally:
            if fakes is not None:
                fakes.stop()
            undo_cd()

    put_at = source.put_at
    # -- orders ---------------------------------------------------------------------------------
    market, protective, first_of_bar = [], [], {}
    for ts, t_order, exectype in broker.stamps:
        t_put = put_at.get(ts)
        if t_put is None:
            continue  # an order on a warm-up bar (none expected)
        d = t_order - t_put
        (market if exectype in (None, bt.Order.Market) else protective).append(d)
        first_of_bar.setdefault(ts, d)
    # -- bars -----------------------------------------------------------------------------------
    order_bars = set(first_of_bar)
    per_bar, per_bar_order, per_bar_quiet, wake = [], [], [], []
    for ts, t_put in put_at.items():
        t_done = done.get(ts)
        if t_done is None:
            continue
        per_bar.append(t_done - t_put)
        (per_bar_order if ts in order_bars else per_bar_quiet).append(t_done - t_put)
        if ts in started:
            wake.append(started[ts] - t_put)
    # where a bar's time goes: put -> load() returned -> next() start -> checkpoint -> done
    seg_wake, seg_fills, seg_decide, seg_after = [], [], [], []
    for ts, t_put in put_at.items():
        t_load, t_next, t_done = loaded.get(ts), started.get(ts), done.get(ts)
        t_ck = checkpoint_at.get(ts)
        if t_load is None or t_next is None or t_done is None or t_ck is None:
            continue
        seg_wake.append(t_load[0] - t_put)
        seg_fills.append(t_next - t_load[0])
        seg_decide.append(t_ck[0] - t_next)
        seg_after.append(t_done - t_ck[1])
    # bars put while the previous live bar was still being processed (the consumer was busy)
    ordered = sorted(put_at)
    busy = sum(1 for a, b in zip(ordered, ordered[1:]) if a in done and put_at[b] < done[a])

    print(f"\nrun: {wall:.1f} s wall, {summary.live_bars:,} live bars processed, "
          f"{summary.trades:,} round trips, {len(broker.stamps):,} orders at the broker; "
          f"DB {db_size:.1f} MB")
    print(f"protective orders alive at the broker at the end: {still_live} (open position: "
          f"{'yes' if open_trade else 'no'}; expect <= 2 with one, 0 without)")
    print(f"garbage collections during the live bars: {gc_pauses.summary()}")
    if args.notify:
        print(f"notifications on (Telegram fake answering in {args.telegram_delay * 1000:g} ms): "
              f"received {notified}")
    print("\nbar put on the queue -> order at the broker (PaperBroker.buy/sell entry):")
    print(stats_line("market orders (entry/exit decisions)", market, TARGET_P99_MS))
    print(stats_line("first order of each bar (any type)", list(first_of_bar.values()),
                     TARGET_P99_MS))
    print(stats_line("protective stop/limit (placed on the fill)", protective))
    print("\nper bar, all live bars:")
    print(stats_line("put -> next() done (checkpoint committed)", per_bar))
    print(stats_line("  bars with an order", per_bar_order))
    print(stats_line("  bars without an order", per_bar_quiet))
    print(stats_line("put -> next() start (wake, fills, indicators)", wake))
    print(stats_line("Store.checkpoint alone", checkpoint_s))
    print(f"  bars that landed while the previous bar was still in process: {busy}")
    print("\nwhere a bar's time goes (Cerebro thread):")
    print(stats_line("put -> load() returns it (wake)", seg_wake))
    print(stats_line("-> next() on_bar (fills, notifications, indicators)", seg_fills))
    print(stats_line("-> checkpoint starts (risk, decision, order)", seg_decide))
    print(stats_line("checkpoint", checkpoint_s))
    print(stats_line("checkpoint done -> bar done (journal, ...)", seg_after))
    print(stats_line("CPU, load() returned -> committed", cpu))
    print(stats_line("CPU, checkpoint", checkpoint_cpu))
    # a checkpoint that took far longer than its CPU time waited (the disk, a lock, the GIL)
    waited = [w - c for w, c in zip(checkpoint_s, checkpoint_cpu) if w - c > 0.002]
    print(f"  checkpoints that waited > 2 ms beyond their CPU time: {len(waited)} "
          f"({sum(waited) * 1000:.0f} ms in all, longest {max(waited, default=0) * 1000:.1f} ms)")
    print("\nI/O thread:")
    print(stats_line("I/O loop lag (bar due -> put)", source.lag))
    print(stats_line("WAL folds (Store.flush_wal, each)", folds_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())

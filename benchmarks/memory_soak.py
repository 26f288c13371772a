"""Memory soak: RSS growth over 1,000,000 bars through the live path, checkpointing every bar.

    python benchmarks/memory_soak.py                      # 1,000,000 live bars (several minutes)
    python benchmarks/memory_soak.py --bars 200000        # a quicker run
    python benchmarks/memory_soak.py --strategy busy      # trades about every other bar

The real live path, as ``tradingbot run`` builds it: ``LiveTradingBot`` with the config's
FileBarSource (a seeded synthetic 1-minute random walk with volume, written to a CSV in a temp
folder) on the bot's IOThread at speed 0 -> BarSink -> LiveFeed in ``Cerebro(runonce=False,
preload=False, exactbars=1)``, PaperBroker, CustomStrategy from ``strategy_setup``, BotListener
committing one Store checkpoint per bar to a SQLite file in the temp folder, the JSON-lines journal
and INFO logging to a rotating file. ``logging.save_equity_curve`` is OFF by default (one row per
bar would make a 1M-bar database ~70 MB larger; ``--equity`` turns it on); everything else in the
checkpoint (bots row, orders, trades, position, risk state) is written every bar.

RSS is VmRSS from /proc/self/status. The baseline is taken after the first ``--baseline`` live
bars (default 10,000: imports, the 1M-bar file, the database and Backtrader's buffers are all in
place by then); growth is end minus baseline. The 1M-bar source arrays (~48 MB) are loaded before
the baseline and stay constant. Figures, not a test: nothing asserts.

Strategies: ``demo`` (default) is config 0001's (RSI + BB + volume entry, RSI/BB exit) with
stop loss 5% / take profit 10% and the kill switch off so it trades all the way; ``busy`` enters
on RSI <= 60 OR the lower band and exits after one bar, to stress the order path.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import _live_harness as h  # benchmarks/ is on sys.path when this file runs as a script

TARGET_GROWTH_MB = 20.0
MARKS = (100_000, 250_000, 500_000, 750_000)  # extra RSS checkpoints (besides every --every)


class Soak:
    """The per-bar hook: counts live bars, samples RSS, prints progress."""

    def __init__(self, total: int, baseline_at: int, every: int, db: Path) -> None:
        self.total = total
        self.db = db
        self.baseline_at = baseline_at
        self.every = every
        self.bars = 0
        self.bot: h.BenchBot | None = None
        self.t_first: float | None = None
        self.t_base: float | None = None
        self.rss_base: float | None = None
        self.samples: list[tuple[int, float, float]] = []  # (bars, seconds since first, RSS MB)
        self.t_last: float | None = None  # at the last live bar, before the bot shuts down
        self.rss_last: float | None = None
        self._last = (0, 0.0)
        self.gc = h.GcPauses()

    def on_bar_done(self, bar: object) -> None:
        self.bars += 1
        n = self.bars
        if n == 1:
            self.t_first = time.perf_counter()
            self._last = (0, self.t_first)
        if n == self.baseline_at:
            self.t_base = time.perf_counter()
            self.rss_base = h.rss_mb()
            self.gc.active = True
            self._sample(n, header=True)
        elif n > self.baseline_at and (n % self.every == 0 or n in MARKS or n == self.total):
            self._sample(n)
        if n == self.total:
            self.t_last, self.rss_last = time.perf_counter(), self.samples[-1][2]

    def _sample(self, n: int, header: bool = False) -> None:
        now = time.perf_counter()
        rss = h.rss_mb()
        assert self.t_first is not None
        self.samples.append((n, now - self.t_first, rss))
        last_n, last_t = self._last
        rate = (n - last_n) / (now - last_t) if now > last_t else float("nan")
        self._last = (n, now)
        strategy = self.bot._running_strategy() if self.bot is not None else None
        broker = self.bot.broker if self.bot is not None else None
        kept_orders = len(getattr(broker, "orders", ()))
        kept_notes = len(getattr(strategy, "_orders", ()))
        trades = self.bot.listener.trades_closed if self.bot and self.bot.listener else 0
        wal = self.db.with_name(self.db.name + "-wal")
        wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
        if header:
            print(f"{'live bars':>10} {'elapsed s':>10} {'bars/s':>8} {'RSS MB':>8} "
                  f"{'vs base':>8} {'trades':>7} {'bt orders':>10} {'bt notifs':>10} "
                  f"{'WAL MB':>7}", flush=True)
        base = self.rss_base if self.rss_base is not None else rss
        print(f"{n:>10,} {now - self.t_first:>10.1f} {rate:>8,.0f} {rss:>8.1f} {rss - base:>+8.1f} "
              f"{trades:>7,} {kept_orders:>10,} {kept_notes:>10,} {wal_mb:>7.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="live bars (default 1,000,000)")
    parser.add_argument("--history", type=int, default=100, help="warm-up bars (default 100)")
    parser.add_argument("--baseline", type=int, default=10_000,
                        help="live bars before the baseline RSS sample (default 10,000)")
    parser.add_argument("--every", type=int, default=50_000, help="progress every N bars")
    parser.add_argument("--strategy", choices=("demo", "busy"), default="demo")
    parser.add_argument("--equity", action="store_true",
                        help="also save the equity curve (one row per bar)")
    parser.add_argument("--seed", type=int, default=h.SEED)
    args = parser.parse_args(argv)
    if args.bars <= args.baseline:
        raise SystemExit(f"--bars must be larger than --baseline ({args.baseline})")

    strategy = h.DEMO_STRATEGY if args.strategy == "demo" else h.BUSY_STRATEGY
    rss_start = h.rss_mb()
    with tempfile.TemporaryDirectory(prefix="memory_soak_") as tmp_name:
        tmp = Path(tmp_name)
        undo_cd = h.in_workdir(tmp)  # the bot writes logs/ (log, journal, status) under the cwd
        try:
            t0 = time.perf_counter()
            csv = tmp / "bars.csv"
            bars = h.synthetic_bars(args.history + args.bars, seed=args.seed)
            h.write_csv(bars, csv)
            del bars  # the bot reads the file itself
            print(f"memory soak: {args.bars:,} live bars after {args.history} warm-up bars, "
                  f"strategy '{args.strategy}', equity curve {'ON' if args.equity else 'OFF'}; "
                  f"synthetic 1m CSV {csv.stat().st_size / 1e6:.0f} MB written in "
                  f"{time.perf_counter() - t0:.1f} s; RSS before the bot {rss_start:.0f} MB",
                  flush=True)
            doc = h.bot_document(strategy, file_path=str(csv), interval="1m",
                                 lookback_bars=args.history, save_equity=args.equity,
                                 save_trades=True)
            db = tmp / "soak.sqlite"
            doc["database"] = {"url": f"sqlite:///{db}"}
            config = h.build_bot_config(doc, tmp)
            h.file_logging(tmp / "bot.log")

            soak = Soak(args.bars, args.baseline, args.every, db)
            bot = h.BenchBot(config, on_bar_done=soak.on_bar_done,
                             on_built=lambda b: setattr(soak, "bot", b))
            t_run = time.perf_counter()
            summary = bot.run()
            rss_after = h.rss_mb()  # the bot has stopped: store closed, I/O thread joined
            soak.gc.close()
            if soak.rss_last is None:  # the feed ended early
                soak._sample(soak.bars)
                soak.t_last, soak.rss_last = time.perf_counter(), soak.samples[-1][2]
            still_live = h.live_protective_orders(bot.broker)
            strat = bot._running_strategy()
            kept = (len(getattr(bot.broker, "orders", ())), len(getattr(strat, "_orders", ())),
                    sum(len(v) for d in getattr(strat, "_trades", {}).values() for v in d.values()))
            db_mb = sum(p.stat().st_size for p in tmp.glob("soak.sqlite*")) / 1e6
        finally:
            undo_cd()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    assert soak.rss_base is not None and soak.t_base is not None and soak.t_first is not None
    assert soak.t_last is not None and soak.rss_last is not None
    t_end, rss_end = soak.t_last, soak.rss_last
    growth = rss_end - soak.rss_base
    live_s = t_end - soak.t_first
    print(f"\n{summary.live_bars:,} live bars in {live_s:.1f} s: {summary.live_bars / live_s:,.0f} "
          f"bars/s (after the baseline: {(soak.bars - args.baseline) / (t_end - soak.t_base):,.0f} "
          f"bars/s); whole run incl. start-up and shutdown {time.perf_counter() - t_run:.1f} s")
    print(f"trades: {summary.trades:,}; protective orders alive at the broker at the end: "
          f"{still_live} (open position: {'yes' if summary.open_position else 'no'}; expect "
          f"<= 2 with one, 0 without); database {db_mb:.1f} MB after shutdown")
    print(f"kept by Backtrader: broker.orders {kept[0]:,}, strategy._orders {kept[1]:,}, "
          f"strategy._trades {kept[2]:,}")
    print(f"garbage collections after the baseline: {soak.gc.summary()}")
    print(f"RSS: start {soak.rss_base:.1f} MB (after {args.baseline:,} live bars), "
          f"end {rss_end:.1f} MB (at the last live bar; {rss_after:.1f} MB once the bot has "
          f"stopped), growth {growth:+.1f} MB over "
          f"{soak.bars - args.baseline:,} bars (target < {TARGET_GROWTH_MB:g} MB: "
          f"{'met' if growth < TARGET_GROWTH_MB else 'MISSED'}); peak {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

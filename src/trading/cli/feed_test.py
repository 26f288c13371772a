"""``tradingbot feed-test binance|yahoo SYMBOL INTERVAL [--lookback N] [--bars N] [--timeout S]``.

Connects the way a bot does (Binance: REST warm-up, then the kline stream; Yahoo: chart history,
then a poll after each bar's close) and prints each closed bar as it arrives, history first, then
live bars, with every data state change; stops after ``--bars`` live bars or on Ctrl+C. When
neither a bar nor the live state has come ``--timeout`` seconds after the start (no network, a
wrong endpoint), it stops with the reason, exit 3. No keys needed.
"""
from __future__ import annotations

import argparse
import logging
import queue
import sys

from feeds.first_contact import NeverConnected, run_source
from feeds.live import CONNBROKEN, DELAYED, DISCONNECTED, LIVE, BarSink
from trading.cli.common import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from trading.cli.market_args import market_data, market_parser, parse
from trading.core.errors import TradingBotError
from trading.core.timeutil import iso_z
from trading.runtime.io_thread import IOThread

log = logging.getLogger(__name__)

STATE_NAMES = {DISCONNECTED: "DISCONNECTED", CONNBROKEN: "CONNBROKEN", DELAYED: "DELAYED",
               LIVE: "LIVE"}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds (0 or more): {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = market_parser("tradingbot feed-test", "Connect to a data feed and print each closed bar.")
    p.add_argument("--lookback", type=int, default=5, help="history bars first (default 5)")
    p.add_argument("--bars", type=int, default=0, help="stop after this many live bars (0: never)")
    p.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                   help="give up when no bar (and no live connection) has come this many seconds "
                        "after the start (default 30; 0: wait for ever)")
    return p


def main(argv: list[str] | None = None) -> int:
    """0 stopped (bars done or Ctrl+C), 2 usage error, 3 the feed failed (or never got through
    within ``--timeout``)."""
    args = parse(_parser(), argv)
    if isinstance(args, int):
        return args
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        data, venue, declared = market_data(args, lookback_bars=args.lookback)
        source = declared.bar_source(venue, data, None)
    except TradingBotError as exc:
        print(f"feed-test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sink = BarSink()
    io = IOThread(name="feed-test-io")
    io.start()

    async def feed() -> BaseException | None:  # a failure comes back here, told once, below
        try:
            await run_source(source, sink, args.timeout, setting="--timeout")
        except Exception as exc:
            if not isinstance(exc, TradingBotError):  # a bug: its traceback goes to the log
                log.error("the feed failed", exc_info=exc)
            return exc
        return None

    task = io.submit(feed(), name="feed")
    live = 0
    print(f"feed-test: {source.describe()}", flush=True)
    try:
        while not (args.bars and live >= args.bars):
            if task.done() and sink.queue.empty():
                break
            try:
                item = sink.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if item[0] == 1:
                print(f"state {STATE_NAMES.get(item[1], item[1])}", flush=True)
            elif item[0] == 0:
                bar, history = item[1], item[2]
                live += not history
                print(f"{'history' if history else 'live   '} {iso_z(bar.ts)} O {bar.open:.8g} "
                      f"H {bar.high:.8g} L {bar.low:.8g} C {bar.close:.8g} V {bar.volume:.8g}",
                      flush=True)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        sink.close()
        if venue is not None:
            try:
                io.submit(venue.close(), name="close").result(5)
            except Exception:
                pass
        io.stop()
    failure = task.result() if task.done() and not task.cancelled() else None
    if isinstance(failure, NeverConnected):
        print(f"feed-test: {failure}", file=sys.stderr)
        return EXIT_RUNTIME
    if failure is not None:
        print(f"feed-test: the feed failed: {failure}", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

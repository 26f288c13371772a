"""``tradingbot download binance|yahoo SYMBOL INTERVAL --start DATE [--end DATE] [--out FILE]``.

Yahoo: see ``trading.cli.download_yahoo``. Binance: writes closed klines in the CSV format replay and the ``file`` source read (Binance's kline dump
format), paged 1,000 at a time with a progress bar; re-running appends only what is missing.
Market data is public: no keys. ``BINANCE_REST_URL`` points it elsewhere (a regional venue, a
proxy).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from trading.venues.binance.download import download_klines
from trading.cli.download_yahoo import download_yahoo
from trading.cli.common import EXIT_INVALID, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from trading.cli.progress import ProgressBar
from trading.cli.market_args import market_data, market_parser, parse
from trading.core.errors import ConfigError, DataError, VenueError
from trading.core.timeutil import iso_z
from trading.venues.binance.klines import interval_ms


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date/time: {text!r} (e.g. 2024-01-15 or 2024-01-15T12:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _parser() -> argparse.ArgumentParser:
    p = market_parser("tradingbot download", "Download closed klines to a CSV file replay reads.")
    p.add_argument("--start", type=_moment, required=True, help="first bar, ISO 8601 (UTC)")
    p.add_argument("--end", type=_moment, help="last bar (default: the last closed bar)")
    p.add_argument("--out", type=Path, help="CSV file (default data/SOURCE/SYMBOL-INTERVAL.csv)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    """0 done, 1 unknown symbol or unusable file, 2 usage error, 3 the venue failed."""
    args = parse(_parser(), argv)
    if isinstance(args, int):
        return args
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    symbol = args.symbol.upper()
    out = args.out or Path("data") / "binance" / f"{symbol}-{args.interval}.csv"
    start_ms = int(args.start.timestamp() * 1000)
    end_ms = int(args.end.timestamp() * 1000) if args.end else None
    if end_ms is not None and end_ms < start_ms:
        print("download: --end is before --start", file=sys.stderr)
        return EXIT_USAGE
    try:
        _, venue, _ = market_data(args)
    except ConfigError as exc:
        print(f"download: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.source == "yahoo":
        return download_yahoo(args, venue, symbol, start_ms / 1000,
                              end_ms / 1000 if end_ms is not None else None)
    span_end = end_ms if end_ms is not None else int(datetime.now(timezone.utc).timestamp() * 1000)
    total = max(1, (span_end - start_ms) // interval_ms(args.interval) + 1)
    bar = ProgressBar(total, label="download", unit="klines") \
        if not args.no_progress and sys.stderr.isatty() else None

    async def run():
        try:
            return await download_klines(venue, symbol, args.interval, start_ms, end_ms, out,
                                         on_progress=(lambda n, _: bar(n)) if bar else None)
        finally:
            await venue.close()

    try:
        result = asyncio.run(run())
    except (VenueError, DataError) as exc:
        print(f"download: {exc}", file=sys.stderr)
        return EXIT_INVALID if "does not list" in str(exc) or isinstance(exc, DataError) \
            else EXIT_RUNTIME
    except OSError as exc:
        print(f"download: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if bar is not None:
        bar.finish()
    if result.resumed_after_ms is not None:
        print(f"{out}: resumed after {iso_z(result.resumed_after_ms / 1000)}")
    print(f"{out}: {result.written:,} kline(s) written"
          + (f" from {iso_z(result.first_ms / 1000)}" if result.first_ms is not None else
             " (already up to date)"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

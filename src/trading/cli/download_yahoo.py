"""``tradingbot download yahoo SYMBOL INTERVAL --start DATE [--end DATE] [--out FILE]``.

Writes closed Yahoo bars (unadjusted prices, as the live feed delivers them) in the CSV format
replay and the ``file`` source read; re-running appends only what is missing. No keys.
``YAHOO_BASE_URL`` points it elsewhere (a proxy, a test server).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trading.venues.yahoo.download import download_bars
from trading.cli.common import EXIT_INVALID, EXIT_OK, EXIT_RUNTIME
from trading.cli.progress import ProgressBar
from trading.core.errors import DataError, VenueError
from trading.core.settings import INTERVAL_SECONDS
from trading.core.timeutil import iso_z
from trading.venues.yahoo.chart import UnknownSymbol


def download_yahoo(args: argparse.Namespace, venue: Any, symbol: str, start: float,
                   end: float | None) -> int:
    """Run the download the parsed arguments describe; prints what it did; the exit code."""
    out = args.out or Path("data") / "yahoo" / f"{symbol}-{args.interval}.csv"
    span_end = end if end is not None else datetime.now(timezone.utc).timestamp()
    total = max(1, int((span_end - start) // INTERVAL_SECONDS[args.interval]) + 1)
    bar = ProgressBar(total, label="download", unit="bars") \
        if not args.no_progress and sys.stderr.isatty() else None

    async def run():
        try:
            return await download_bars(venue, symbol, args.interval, start, end, out,
                                       on_progress=(lambda n, _: bar(n)) if bar else None)
        finally:
            await venue.close()

    try:
        result = asyncio.run(run())
    except (VenueError, DataError) as exc:  # an unknown symbol or a file not ours: the user's
        print(f"download: {exc}", file=sys.stderr)
        return EXIT_INVALID if isinstance(exc, (UnknownSymbol, DataError)) else EXIT_RUNTIME
    except OSError as exc:
        print(f"download: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if bar is not None:
        bar.finish()
    if result.clipped_to_ts is not None:
        print(f"{out}: Yahoo serves {args.interval} bars back to about "
              f"{iso_z(result.clipped_to_ts)} only; starting there")
    if result.resumed_after_ts is not None:
        print(f"{out}: resumed after {iso_z(result.resumed_after_ts)}")
    print(f"{out}: {result.written:,} bar(s) written"
          + (f" from {iso_z(result.first_ts)}" if result.first_ts is not None else
             " (already up to date)"))
    return EXIT_OK

"""Download closed Binance klines into a CSV file that replay and the ``file`` source read.

The file is Binance's own kline dump format (12 columns, no header, open time in ms, values as
Binance sends them), written page by page as the pages arrive. Re-running the same download
appends only the klines after the file's last row, so an interrupted download resumes, and a
download in several runs is byte-identical to one made in one go.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from trading.core.errors import DataError
from trading.core.files import last_line
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.filters import SymbolRules
from trading.venues.binance.klines import Row, fetch_closed_klines, interval_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    written: int  # rows added by this run
    first_ms: int | None  # open time of the first row added
    resumed_after_ms: int | None  # the file's last row before this run (None: a new file)


def last_open_ms(path: Path) -> int | None:
    """The open time of the file's last row (None for a missing or empty file)."""
    line = last_line(path)
    if line is None:
        return None
    try:
        return int(line.split(b",")[0])
    except (IndexError, ValueError):
        raise DataError(f"{path}: the last line is not a Binance kline row; move the file away "
                        "or choose another --out") from None


def _row_text(row: Row) -> list[str]:
    return [str(value) for value in row]


async def download_klines(venue: BinanceVenue, symbol: str, interval: str, start_ms: int,
                          end_ms: int | None, path: Path,
                          on_progress: Callable[[int, int], None] | None = None) -> DownloadResult:
    """Append every closed kline from ``start_ms`` (or after the file's last row) to ``end_ms``
    (or now) to ``path``; ``on_progress(rows_written, open_ms_reached)`` after each page.

    Raises VenueError for an unknown symbol (checked first) or an unreachable Binance (at once: a
    refused connection or an unknown host does not heal while the user waits), DataError for an
    unusable file. Busy or failing servers (5xx, timeouts) are retried a few times.
    """
    venue.retry_unreachable = False
    await venue.start()
    client = venue.client
    assert client is not None
    info = await venue.request("exchange info", client.get_exchange_info)
    SymbolRules.from_exchange_info(info, symbol)  # a clear error for an unknown symbol
    resumed = last_open_ms(path)
    start = start_ms if resumed is None else max(start_ms, resumed + interval_ms(interval))
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    first: list[int] = []
    with path.open("a", newline="", encoding="ascii") as fh:
        writer = csv.writer(fh, lineterminator="\n")

        def page(rows: list[Row]) -> None:
            nonlocal written
            writer.writerows(_row_text(r) for r in rows)
            fh.flush()  # an interrupted download keeps every page it got
            written += len(rows)
            if not first:
                first.append(int(rows[0][0]))
            if on_progress is not None:
                on_progress(written, int(rows[-1][0]))

        await fetch_closed_klines(venue, symbol, interval, start, end_ms, on_page=page)
    return DownloadResult(path=path, written=written, first_ms=first[0] if first else None,
                          resumed_after_ms=resumed)

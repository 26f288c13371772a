"""Download closed Yahoo bars into a CSV file that replay and the ``file`` source read.

The file has a header (``datetime,open,high,low,close,volume``), one bar a row, times as ISO 8601
UTC (``2024-01-15T14:30:00Z``), prices unadjusted as the live feed delivers them. Re-running the
same download appends only the bars after the file's last row, so an interrupted download resumes.
A start older than Yahoo serves for the interval begins at the oldest bar Yahoo has.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from trading.venues.yahoo.bars import fetch_closed_bars
from trading.core.errors import DataError
from trading.core.files import last_line
from trading.core.timeutil import DAY_SECONDS, epoch_seconds, iso_z
from trading.core.types import Bar
from trading.venues.yahoo.chart import Chart
from trading.venues.yahoo.connection import YahooVenue
from trading.venues.yahoo.intervals import yahoo_interval

log = logging.getLogger(__name__)

HEADER = ("datetime", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    written: int  # rows added by this run
    first_ts: float | None  # time of the first row added
    resumed_after_ts: float | None  # the file's last row before this run (None: a new file)
    clipped_to_ts: float | None  # the start moved to the oldest bar Yahoo serves (None: not)


def last_row_ts(path: Path) -> float | None:
    """The time of the file's last row (None for a missing or empty file, or a header only)."""
    line = last_line(path)
    if line is None or line.startswith(b"datetime,"):
        return None
    try:
        text = line.split(b",")[0].decode("ascii")
        return epoch_seconds(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (IndexError, ValueError, UnicodeDecodeError):
        raise DataError(f"{path}: the last line is not a bar row of a Yahoo download; move the "
                        "file away or choose another --out") from None


def _row(bar: Bar) -> list[str]:
    return [iso_z(bar.ts), *(repr(float(v)) for v in bar[1:])]


async def download_bars(venue: YahooVenue, symbol: str, interval: str, start: float,
                        end: float | None, path: Path,
                        on_progress: Callable[[int, float], None] | None = None) -> DownloadResult:
    """Append every closed ``interval`` bar of ``symbol`` from ``start`` (or after the file's
    last row) to ``end`` (or now) to ``path``; ``on_progress(rows_written, ts_reached)``.

    Raises VenueError (UnknownSymbol naming the symbol first of all), DataError for a file
    that is not a Yahoo download."""
    yahoo = yahoo_interval(interval)
    probe = await venue.probe(symbol, yahoo)  # an unknown symbol fails here, before any file
    now = probe.server_time
    resumed = last_row_ts(path)
    # a daily row is stamped at its session's start, which can be the day before in UTC
    margin = 0 if yahoo.intraday else DAY_SECONDS
    begin = start if resumed is None else max(start, resumed + yahoo.seconds - margin)
    clipped = None
    if yahoo.history_days is not None and begin < now - yahoo.history_days * DAY_SECONDS:
        clipped = now - yahoo.history_days * DAY_SECONDS
        begin = clipped
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = resumed is None and (not path.exists() or path.stat().st_size == 0)
    written = 0
    first: list[float] = []
    with path.open("a", newline="", encoding="ascii") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if new_file:
            writer.writerow(HEADER)

        def piece(bars: list[Bar]) -> None:
            nonlocal written
            bars = [b for b in bars if resumed is None or b.ts > resumed]
            writer.writerows(_row(b) for b in bars)
            fh.flush()  # an interrupted download keeps every piece it got
            written += len(bars)
            if bars and not first:
                first.append(bars[0].ts)
            if on_progress is not None and bars:
                on_progress(written, bars[-1].ts)

        async def fetch(at: float, upto: float | None) -> Chart:
            return await venue.fetch_chart(symbol, yahoo, at, upto)

        await fetch_closed_bars(fetch, yahoo, begin, end, now, on_piece=piece)
    return DownloadResult(path=path, written=written, first_ts=first[0] if first else None,
                          resumed_after_ts=resumed, clipped_to_ts=clipped)

"""Binance klines: parsing REST rows and stream events into bars, and paging closed klines.

A REST row is ``[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades,
takerBase, takerQuote, ignore]`` (prices as strings, times in ms). Binance answers with at most
1,000 rows a request, and its last row may be the kline still forming: it is recognised by its
close time, which lies ahead of the server's clock, and dropped.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Sequence

from trading.core.settings import INTERVAL_SECONDS
from trading.core.types import Bar
from trading.venues.binance.connection import BinanceVenue

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000
Row = Sequence[Any]


def interval_ms(interval: str) -> int:
    return INTERVAL_SECONDS[interval] * 1000


def row_bar(row: Row) -> Bar:
    """A REST kline row as a ``Bar`` (open time in epoch seconds)."""
    return Bar(row[0] / 1000.0, float(row[1]), float(row[2]), float(row[3]), float(row[4]),
               float(row[5]))


def event_bar(kline: dict[str, Any]) -> Bar:
    """The ``k`` object of a kline stream event as a ``Bar``."""
    return Bar(kline["t"] / 1000.0, float(kline["o"]), float(kline["h"]), float(kline["l"]),
               float(kline["c"]), float(kline["v"]))


async def fetch_closed_klines(venue: BinanceVenue, symbol: str, interval: str, start_ms: int,
                              end_ms: int | None = None, *,
                              on_page: Callable[[list[Row]], Awaitable[None] | None] | None = None
                              ) -> list[Row]:
    """Every closed kline whose open time is in ``[start_ms, end_ms]`` (to now without
    ``end_ms``), oldest first, paged 1,000 at a time; ``on_page(rows)`` sees each page."""
    client = venue.client
    assert client is not None, "start the venue first"
    step = interval_ms(interval)
    now = await venue.server_time_ms()
    last = now if end_ms is None else min(end_ms, now)
    rows: list[Row] = []
    start = start_ms
    while start <= last:
        page = await venue.request(f"klines {symbol} {interval}", client.get_klines,
                                   symbol=symbol, interval=interval, startTime=start,
                                   endTime=last, limit=PAGE_LIMIT)
        closed = [r for r in page if start <= r[0] <= last and r[6] < now]
        if closed:
            rows.extend(closed)
            if on_page is not None:
                result = on_page(closed)
                if result is not None:
                    await result
        if len(page) < PAGE_LIMIT or len(closed) < len(page) or not closed:
            break
        start = closed[-1][0] + step
    return rows

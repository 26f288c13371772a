"""Closed bars of a config interval out of Yahoo's chart answers: what the ``yahoo`` source and
``tradingbot download yahoo`` share.

A chart answer's closed rows are the bars when Yahoo serves the interval; 3m 2h 4h 6h 12h bars
are combined from 1m or 1h rows by ``feeds.resample`` (the buckets replay builds), each once its
bucket has closed: at the bucket's end, or at the end of the session when that comes first,
and once every row opening in it has closed.
Ranges wider than Yahoo allows in one request (1m: a week) are asked for in pieces.
"""
from __future__ import annotations

from typing import Awaitable, Callable, Sequence

from feeds.resample import bucket_start, combine_bars
from trading.core.types import Bar
from trading.venues.yahoo.chart import CLOSE_MARGIN, Chart
from trading.venues.yahoo.intervals import YahooInterval

Fetch = Callable[[float, float | None], Awaitable[Chart]]  # (start, end or None for now)


def closed_bars(chart: Chart, interval: YahooInterval) -> list[Bar]:
    """The bars of ``interval`` closed when Yahoo answered ``chart``."""
    return finish(chart.closed(chart.server_time), chart, interval)


def finish(base: Sequence[Bar], chart: Chart, interval: YahooInterval) -> list[Bar]:
    """Closed ``base`` rows as bars of ``interval`` (combined when built from finer bars)."""
    if not interval.resampled:
        return list(base)
    step = interval.seconds
    now = chart.server_time
    buckets: dict[float, list[Bar]] = {}
    for bar in base:
        buckets.setdefault(bucket_start(bar.ts, step), []).append(bar)
    # a row still forming keeps its bucket open, even past the bucket's end (an hourly bar
    # opening at 17:30 belongs to the 16:00-18:00 bucket and closes at 18:30)
    forming = {bucket_start(bar.ts, step) for bar, close in zip(chart.bars, chart.close_times)
               if close + CLOSE_MARGIN > now}
    out = []
    for start, members in sorted(buckets.items()):
        if start in forming:
            continue
        closes = start + step
        last = members[-1]
        for session in chart.sessions:  # the session ended inside the bucket: it is complete
            if session.start <= last.ts < session.end < closes:
                closes = session.end
        if closes + CLOSE_MARGIN <= now:
            out.append(combine_bars(start, members))
    return out


def aligned_start(start: float, interval: YahooInterval) -> float:
    """``start`` moved forward to a bucket's start, so the first bar built is complete."""
    if not interval.resampled:
        return start
    aligned = bucket_start(start, interval.seconds)
    return aligned if aligned == start else aligned + interval.seconds


async def fetch_closed_bars(fetch: Fetch, interval: YahooInterval, start: float,
                            end: float | None, now: float,
                            on_piece: Callable[[list[Bar]], None] | None = None) -> list[Bar]:
    """Every closed bar of ``interval`` from ``start`` to ``end`` (None: now), oldest first,
    each once; ``on_piece(bars)`` hears each piece's new bars as it arrives."""
    start = aligned_start(start, interval)
    piece = interval.request_seconds
    stop = now if end is None else min(end, now)
    out: list[Bar] = []
    if piece is None:
        bars = [b for b in closed_bars(await fetch(start, end), interval)
                if b.ts >= start and (end is None or b.ts <= end)]
        if on_piece is not None and bars:
            on_piece(bars)
        return bars
    at = start
    while at <= stop:
        upto = min(at + piece, stop + interval.base_seconds)
        chart = await fetch(at, upto)
        bars = [b for b in closed_bars(chart, interval)
                if b.ts >= at and (not out or b.ts > out[-1].ts) and (end is None or b.ts <= end)]
        out.extend(bars)
        if on_piece is not None and bars:
            on_piece(bars)
        at += piece
    return out

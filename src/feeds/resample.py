"""Resample finer bars to a config's interval: OHLCV aggregated on UTC boundaries.

Replay and the ``file`` source both call ``resample_bars``, so a 1h config on 5-minute data trades
the same hourly bars on both paths. A bucket spans ``[k * interval, (k + 1) * interval)`` in UTC
(weeks start on Monday 00:00 UTC, as Binance's do). Only complete bars are kept: a first bucket
that the data enters after its start, and a last bucket that the data leaves before its end, are
dropped. A bucket with a gap inside (an exchange outage) is kept, as the exchange itself builds it.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from feeds.csv_bars import BarArrays
from trading.core.errors import DataError
from trading.core.settings import interval_label
from trading.core.timeutil import DAY_SECONDS
from trading.core.types import Bar

WEEK_SECONDS = 7 * DAY_SECONDS
MONDAY_OFFSET = 4 * DAY_SECONDS  # 1970-01-01 was a Thursday; Binance's weeks start on Monday


def resample_bars(bars: BarArrays, interval_seconds: float, source: str = "the data") -> BarArrays:
    """``bars`` as bars of ``interval_seconds``; unchanged when they already are.

    Raises DataError, naming ``source``, when the bars are coarser than the interval or the
    interval is not a whole multiple of their spacing.
    """
    found = bars.interval_seconds
    interval = float(interval_seconds)
    if not found or not interval or found == interval:
        return bars
    wanted = interval_label(interval)
    if found > interval:
        raise DataError(f"{source}: the bars are {interval_label(found)} apart, coarser than "
                        f"data.interval {wanted}; finer bars can be combined into coarser ones, "
                        f"not the other way: set data.interval to {interval_label(found)} or "
                        f"longer, or use {wanted} data")
    if interval % found:
        raise DataError(f"{source}: {wanted} bars cannot be built from bars {interval_label(found)} "
                        f"apart ({wanted} is not a whole multiple); use data whose spacing divides "
                        f"{wanted}")
    return _aggregate(bars, interval, found)


def _aggregate(bars: BarArrays, interval: float, spacing: float) -> BarArrays:
    offset = MONDAY_OFFSET if interval == WEEK_SECONDS else 0.0
    ts = np.asarray(bars.ts, dtype=np.float64)
    bucket = np.floor((ts - offset) / interval)
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(ts)])) - 1
    opened = bucket[starts] * interval + offset
    keep = np.ones(len(starts), dtype=bool)
    keep[0] = ts[0] <= opened[0]  # the data begins at (not inside) the first bucket
    keep[-1] &= ts[-1] + spacing >= opened[-1] + interval  # and reaches the last one's end
    columns = (
        opened,
        np.asarray(bars.open)[starts],
        np.maximum.reduceat(np.asarray(bars.high), starts),
        np.minimum.reduceat(np.asarray(bars.low), starts),
        np.asarray(bars.close)[ends],
        np.add.reduceat(np.asarray(bars.volume), starts),
    )
    out = [np.ascontiguousarray(c[keep], dtype=np.float64) for c in columns]
    for column in out:
        column.flags.writeable = False
    if not len(out[0]):
        raise DataError(f"the data holds no complete {interval_label(interval)} bar "
                        f"({len(ts)} bars of {interval_label(spacing)})")
    return BarArrays(*out)


def bucket_start(ts: float, interval_seconds: float) -> float:
    """The start of the ``interval_seconds`` bucket ``ts`` falls in, on the boundaries
    ``resample_bars`` uses (UTC; weeks from Monday)."""
    interval = float(interval_seconds)
    offset = MONDAY_OFFSET if interval == WEEK_SECONDS else 0.0
    return math.floor((ts - offset) / interval) * interval + offset


def combine_bars(start: float, bars: Sequence[Bar]) -> Bar:
    """One bar opening at ``start`` from the finer ``bars`` of its bucket, oldest first:
    aggregated exactly as ``resample_bars`` aggregates (a live source building bars as they
    close gives the bars replay builds from the same file)."""
    if not bars:
        raise ValueError("combine_bars needs at least one bar")
    return Bar(start, bars[0].open, max(b.high for b in bars), min(b.low for b in bars),
               bars[-1].close, float(np.add.reduceat(np.array([b.volume for b in bars], dtype=np.float64),
                                          [0])[0]))

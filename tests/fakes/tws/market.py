"""The fake's market data: per contract a list of closed bars and the forming bar, the
historical-data requests clients made, and the historicalData (17) / historicalDataUpdate (90)
messages that answer them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from fakes.tws.codec import tws_time
from trading.core.types import Bar

UNIT_SECONDS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600,
                "day": 86400, "days": 86400, "week": 604800, "weeks": 604800,
                "month": 2592000, "months": 2592000}
DURATION_SECONDS = {"S": 1, "D": 86400, "W": 604800, "M": 2592000, "Y": 31536000}


def bar_seconds(bar_size: str) -> int:
    """``"5 mins"`` -> 300 (TWS's barSizeSetting text)."""
    count, unit = bar_size.split()
    return int(count) * UNIT_SECONDS[unit]


def duration_seconds(duration: str) -> int:
    """``"2 D"`` -> 172800 (TWS's durationStr text)."""
    count, unit = duration.split()
    return int(count) * DURATION_SECONDS[unit]


def parse_end(text: str, tz: str) -> float | None:
    """The epoch seconds of an endDateTime as clients send it; None for "now" (empty)."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{8}-\d\d:\d\d:\d\d", text):
        when = datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
    elif re.fullmatch(r"\d{8}", text):
        when = datetime.strptime(text, "%Y%m%d").replace(hour=23, minute=59, second=59,
                                                         tzinfo=ZoneInfo(tz))
    else:
        day, clock, *zone = text.split()
        when = datetime.strptime(day + clock, "%Y%m%d%H:%M:%S").replace(
            tzinfo=ZoneInfo(zone[0] if zone else tz))
    return when.timestamp()


def bars_from_csv(path: str | Path) -> list[Bar]:
    """The bars of a CSV file the project's loader reads (any of its formats)."""
    from feeds.csv_bars import load_bars

    arrays = load_bars(path)
    return [arrays.bar(i) for i in range(len(arrays))]


@dataclass
class HistoricalRequest:
    """One reqHistoricalData as the fake received it."""

    req_id: int
    client_id: int
    con_id: int
    symbol: str
    end: str
    duration: str
    bar_size: str
    what_to_show: str
    use_rth: bool
    format_date: int
    keep_up_to_date: bool
    cancelled: bool = False
    session: Any = field(default=None, repr=False, compare=False)  # who gets the updates


@dataclass
class RealtimeRequest:
    """One reqRealTimeBars (5-second bars) as the fake received it."""

    req_id: int
    client_id: int
    con_id: int
    what_to_show: str
    use_rth: bool
    cancelled: bool = False
    session: Any = field(default=None, repr=False, compare=False)


def realtime_fields(req: RealtimeRequest, bar: Bar) -> list[object]:
    """realtimeBar (50): reqId, time, open, high, low, close, volume, wap, count."""
    return [50, 3, req.req_id, int(bar.ts), bar.open, bar.high, bar.low, bar.close, bar.volume,
            round((bar.high + bar.low + bar.close) / 3, 6), 1]


@dataclass
class QuoteRequest:
    """One reqMktData (streaming, or a snapshot answered once)."""

    req_id: int
    client_id: int
    con_id: int
    snapshot: bool
    cancelled: bool = False
    session: Any = field(default=None, repr=False, compare=False)


def tick_fields(req: QuoteRequest, price: float, min_tick: float) -> list[list[object]]:
    """tickPrice (1) messages for bid, ask and last around ``price`` (size 100 each)."""
    return [[1, 6, req.req_id, tick_type, round(price + offset, 8), 100, 0]
            for tick_type, offset in ((1, -min_tick), (2, min_tick), (4, 0.0))]


class Series:
    """One contract's bars: ``closed`` in time order, then ``forming`` (may be None)."""

    def __init__(self, bars: Sequence[Bar], forming: Bar | None, step: int) -> None:
        self.closed = list(bars)
        self.forming = forming
        self.step = step
        self.tick: float | None = None  # a real-time bar's close, newer than the bars

    @property
    def last_price(self) -> float | None:
        if self.tick is not None:
            return self.tick
        if self.forming is not None:
            return self.forming.close
        return self.closed[-1].close if self.closed else None

    def window(self, end: float | None, duration: int) -> list[Bar]:
        """The bars a request for ``duration`` seconds up to ``end`` (None: now) gets."""
        bars = self.closed + ([self.forming] if self.forming is not None and end is None else [])
        if not bars:
            return []
        stop = end if end is not None else bars[-1].ts + self.step
        return [b for b in bars if stop - duration <= b.ts < stop]


def guess_step(bars: Sequence[Bar], default: int = 60) -> int:
    if len(bars) >= 2:
        return int(round(bars[1].ts - bars[0].ts)) or default
    return default


def date_text(ts: float, format_date: int, step: int, tz: str) -> str:
    """A bar's date as TWS writes it: epoch seconds for formatDate 2, else its local text
    (``yyyymmdd`` alone for daily and longer bars)."""
    if step >= 86400:
        return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y%m%d")
    if format_date == 2:
        return str(int(ts))
    return tws_time(datetime.fromtimestamp(ts, timezone.utc), tz)


def historical_fields(req: HistoricalRequest, bars: Sequence[Bar], step: int, tz: str,
                      end: float | None) -> list[object]:
    """historicalData (17): reqId, start, end, count, then per bar date OHLC volume wap count."""
    stop = end if end is not None else (bars[-1].ts + step if bars else 0.0)
    start = stop - duration_seconds(req.duration)
    fields: list[object] = [17, req.req_id, tws_time(_utc(start), tz), tws_time(_utc(stop), tz),
                            len(bars)]
    for b in bars:
        fields += [date_text(b.ts, req.format_date, step, tz), b.open, b.high, b.low, b.close,
                   b.volume, round((b.high + b.low + b.close) / 3, 6), 1]
    return fields


def update_fields(req: HistoricalRequest, bar: Bar, step: int, tz: str) -> list[object]:
    """historicalDataUpdate (90): reqId, barCount, date, open, close, high, low, wap, volume."""
    return [90, req.req_id, 1, date_text(bar.ts, req.format_date, step, tz), bar.open, bar.close,
            bar.high, bar.low, round((bar.high + bar.low + bar.close) / 3, 6), bar.volume]


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def next_forming(bar: Bar, step: int) -> Bar:
    """The bar after ``bar`` as it first shows: opened at ``bar``'s close, nothing traded."""
    return Bar(bar.ts + step, bar.close, bar.close, bar.close, bar.close, 0.0)


def merged(forming: Bar, close: float, high: float | None, low: float | None,
           volume: float | None) -> Bar:
    """``forming`` after trades up to ``close`` (and ``high``/``low`` if given)."""
    return Bar(forming.ts, forming.open, max(forming.high, close, high or close),
               min(forming.low, close, low if low is not None else close), close,
               forming.volume if volume is None else volume)


__all__ = ["Bar", "HistoricalRequest", "QuoteRequest", "RealtimeRequest", "Series",
           "realtime_fields", "tick_fields", "bar_seconds", "bars_from_csv", "date_text",
           "duration_seconds", "guess_step", "historical_fields", "merged", "next_forming",
           "parse_end", "update_fields"]

"""Yahoo's chart answer (``/v8/finance/chart/SYMBOL``) read into the project's bars.

Prices are the quote arrays as Yahoo sends them: unadjusted for dividends (``adjclose`` is never
used), so warm-up, live bars and downloads all carry the same prices. Rows with a missing value
(Yahoo leaves holes in thin markets) are skipped. Intraday bars keep Yahoo's time (the bar's
open, UTC); a daily bar is dated 00:00 UTC of its exchange-local date and a weekly bar 00:00 UTC
of that week's Monday, so they line up with ``feeds.resample`` and the CSV files replay reads.

A bar is closed once ``close_time`` has passed: intraday, the end of its interval (or the end of
its session when that comes first, e.g. a 30-minute last hour); daily, the end of its session in
the exchange's time zone; weekly, the start of the next week.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trading.core.errors import ConfigError, VenueError
from trading.core.timeutil import DAY_SECONDS
from trading.core.types import Bar
from trading.venues.yahoo.intervals import YahooInterval

SHORT_SESSION_SLACK = 60  # a session ending this close to a bar's end is not a shorter bar
# seconds a bar must be past its close by Yahoo's Date header to count as closed: the header is
# stamped a moment after the data was read, so a bar closing in between is still a forming row
CLOSE_MARGIN = 2.0


class MalformedAnswer(VenueError):
    """Yahoo answered, but not with a chart this client can read (worth retrying)."""


class UnknownSymbol(VenueError, ConfigError):
    """Yahoo does not know the symbol: the config's problem (``data.symbol``), found at the venue."""


@dataclass(frozen=True)
class Session:
    """One regular trading session, epoch seconds."""

    start: float
    end: float


@dataclass(frozen=True)
class Chart:
    """The bars of one answer, each with the time it closes, and the market's sessions."""

    symbol: str
    bars: list[Bar]
    close_times: list[float]
    timezone: str
    current: Session | None  # Yahoo's current (or latest, or next) regular session
    sessions: list[Session]  # intraday answers: every regular session in the range
    server_time: float = 0.0  # Yahoo's clock when it answered (its Date header)

    def closed(self, now: float) -> list[Bar]:
        """The bars closed at ``now`` (the one still forming, if any, is left out)."""
        return [bar for bar, close in zip(self.bars, self.close_times)
                if close + CLOSE_MARGIN <= now]

    def market_open(self, now: float) -> bool:
        return self.current is not None and self.current.start <= now < self.current.end


def chart_error(symbol: str, status: int, body: Any) -> VenueError | None:
    """The error an HTTP status and body mean, or None for a readable answer."""
    error = body.get("chart", {}).get("error") if isinstance(body, dict) and \
        isinstance(body.get("chart"), dict) else None
    text = ""
    if isinstance(error, dict):
        text = str(error.get("description") or error.get("code") or "")
    if status == 404 or (isinstance(error, dict) and error.get("code") == "Not Found"):
        return UnknownSymbol(f"Yahoo does not know the symbol {symbol!r}"
                             f"{f' ({text})' if text else ''}: check data.symbol as Yahoo "
                             "spells it (AAPL, BTC-USD, EURUSD=X, ^GSPC)")
    if error:
        return VenueError(f"Yahoo refused the chart of {symbol}: {text or error}")
    if status >= 400:
        return VenueError(f"Yahoo answered HTTP {status} for the chart of {symbol}")
    return None


def parse_chart(symbol: str, body: Any, interval: YahooInterval) -> Chart:
    """``body`` (decoded JSON) as a Chart; MalformedAnswer when it is not one."""
    try:
        result = body["chart"]["result"][0]
        meta = result["meta"]
    except (KeyError, IndexError, TypeError):
        raise MalformedAnswer(f"Yahoo's chart answer for {symbol} has no result") from None
    if not isinstance(meta, dict):
        raise MalformedAnswer(f"Yahoo's chart answer for {symbol} has no meta data")
    zone_name = str(meta.get("exchangeTimezoneName") or "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    current = _session((meta.get("currentTradingPeriod") or {}).get("regular"))
    sessions = _trading_periods(meta.get("tradingPeriods"))
    times = result.get("timestamp") or []
    try:
        quote = result["indicators"]["quote"][0] if times else {}
        columns = [quote.get(k) or [None] * len(times) for k in ("open", "high", "low", "close",
                                                                    "volume")]
    except (KeyError, IndexError, TypeError, AttributeError):
        raise MalformedAnswer(f"Yahoo's chart answer for {symbol} has no quotes") from None
    if not isinstance(times, list) or any(len(c) != len(times) for c in columns):
        raise MalformedAnswer(f"Yahoo's chart answer for {symbol} has columns of unequal length")
    bars: list[Bar] = []
    closes: list[float] = []
    for i, stamp in enumerate(times):
        o, h, lo, c, v = (col[i] for col in columns)
        if stamp is None or any(not _number(x) for x in (o, h, lo, c)):
            continue  # a hole Yahoo left (no trade in that bar)
        ts = float(stamp)
        bar_ts = _bar_time(ts, interval, zone)
        bars.append(Bar(bar_ts, float(o), float(h), float(lo), float(c),
                        float(v) if _number(v) else 0.0))
        closes.append(_close_time(ts, bar_ts, interval, zone, current, sessions))
    ordered = sorted(zip(bars, closes), key=lambda pair: pair[0].ts)
    unique: dict[float, tuple[Bar, float]] = {}
    for bar, close in ordered:  # Yahoo can repeat the live row: the later one wins
        unique[bar.ts] = (bar, close)
    rows = list(unique.values())
    return Chart(symbol=symbol, bars=[r[0] for r in rows], close_times=[r[1] for r in rows],
                 timezone=zone_name, current=current, sessions=sessions)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _session(raw: Any) -> Session | None:
    if isinstance(raw, dict) and _number(raw.get("start")) and _number(raw.get("end")):
        return Session(float(raw["start"]), float(raw["end"]))
    return None


def _trading_periods(raw: Any) -> list[Session]:
    if isinstance(raw, dict):  # some answers nest them as {"regular": [[...]]}
        raw = raw.get("regular")
    found: list[Session] = []
    for day in raw if isinstance(raw, list) else []:
        for period in day if isinstance(day, list) else [day]:
            session = _session(period)
            if session is not None:
                found.append(session)
    return sorted(found, key=lambda s: s.start)


def _local_date(ts: float, zone: ZoneInfo):
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(zone).date()


def _bar_time(ts: float, interval: YahooInterval, zone: ZoneInfo) -> float:
    if interval.intraday:
        return ts
    day = _local_date(ts, zone)
    if interval.base == "1w":
        day = day - timedelta(days=day.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _close_time(ts: float, bar_ts: float, interval: YahooInterval, zone: ZoneInfo,
                current: Session | None, sessions: list[Session]) -> float:
    if interval.intraday:
        end = ts + interval.base_seconds
        for session in sessions:
            if session.start <= ts < session.end and session.end < end - SHORT_SESSION_SLACK:
                return session.end
        return end
    if interval.base == "1w":
        return bar_ts + 7 * DAY_SECONDS
    if current is None:
        return bar_ts + DAY_SECONDS  # no session known: the day's end (UTC)
    today = _local_date(current.start, zone)
    day = _local_date(ts, zone)
    if day < today:
        return ts  # an earlier session: closed
    if day == today:
        return current.end
    return math.inf  # a session after the one Yahoo calls current: not closed yet

"""Time conversions, each written once: epoch seconds, aware UTC datetimes, ISO "Z" text and
Backtrader's date numbers.

Every time inside the bot is either epoch seconds (float, UTC) or an aware UTC datetime; naive
datetimes only appear at the edges (Backtrader, user input) and mean UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

DAY_SECONDS = 86400
BT_EPOCH_ORDINAL = 719163.0  # datetime(1970, 1, 1).toordinal(): Backtrader counts days from year 1


def utcnow() -> datetime:
    """The wall clock as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def utc_datetime(ts: float) -> datetime:
    """An aware UTC datetime for epoch seconds."""
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def epoch_seconds(moment: datetime) -> float:
    """Epoch seconds of a datetime; a naive one is taken as UTC (as Backtrader gives times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso_z(value: float | datetime) -> str:
    """``2018-01-10T05:00:00Z`` for epoch seconds or a datetime (fractions only when present)."""
    moment = utc_datetime(value) if not isinstance(value, datetime) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_or_value(value: Any) -> Any:
    """``iso_z`` for a datetime, anything else unchanged (for JSON payloads)."""
    return iso_z(value) if isinstance(value, datetime) else value


def bt_date_number(ts: Any) -> Any:
    """Backtrader date number(s) for epoch seconds (a float or a numpy array), bit-identical to
    ``bt.date2num`` of the naive UTC datetime.

    Whole days and the day fraction are added separately: ``ts / 86400 + 719163`` rounds twice
    and differs from ``date2num`` in the last bit for about 1% of times.
    """
    days = ts // DAY_SECONDS  # floor, for floats and numpy arrays alike
    return (days + BT_EPOCH_ORDINAL) + (ts - days * DAY_SECONDS) / DAY_SECONDS


def bt_number_to_epoch(num: float) -> float:
    """Epoch seconds (rounded to the millisecond) of a Backtrader date number."""
    return round((num - BT_EPOCH_ORDINAL) * DAY_SECONDS, 3)

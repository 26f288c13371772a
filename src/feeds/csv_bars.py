"""Load OHLCV bars from a CSV file into numpy columns, checked, fast (1M rows in about a second).

Two formats are recognised from the first line:

* a header row naming a time column (``datetime``; also ``open_time``, ``timestamp``, ``time``
  or ``date``) and ``open, high, low, close, volume`` in any order and case; other columns are
  ignored. Times are ISO 8601 (``2018-01-10T04:55:00Z``; no offset means UTC) or epoch integers.
* a Binance kline dump: no header, 12 columns, the first being the open time.

Epoch times are read by magnitude, value by value: seconds, milliseconds (>= 1e11) or
microseconds (>= 1e14, Binance dumps since 2025). Every problem is a DataError naming the file and
the 1-based line of the file; gaps in the series are only logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from trading.core.errors import DataError
from trading.core.timeutil import epoch_seconds, iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("datetime", "open_time", "timestamp", "time", "date")
MAX_GAP_WARNINGS = 5


@dataclass(frozen=True)
class BarArrays:
    """Bars as read-only float64 numpy columns; ``ts`` is each bar's open time, epoch seconds UTC."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(getattr(self, f.name)) for f in fields(self)}
        if len(sizes) != 1:
            raise ValueError(f"BarArrays columns differ in length: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.ts)

    @cached_property
    def interval_seconds(self) -> float:
        """The median spacing between bars (0.0 with fewer than two bars)."""
        if len(self.ts) < 2:
            return 0.0
        return float(np.median(np.diff(self.ts)))

    def bar(self, i: int) -> Bar:
        return Bar(float(self.ts[i]), float(self.open[i]), float(self.high[i]),
                   float(self.low[i]), float(self.close[i]), float(self.volume[i]))

    def slice(self, i: int, j: int) -> "BarArrays":
        """Bars ``i`` to ``j - 1`` (views, no copy)."""
        return BarArrays(*(getattr(self, f.name)[i:j] for f in fields(self)))


def _epoch_seconds(values: np.ndarray) -> np.ndarray:
    """Epoch seconds from seconds, milliseconds or microseconds, decided value by value."""
    return np.where(values >= 1e14, values / 1e6, np.where(values >= 1e11, values / 1e3, values))


def _first_line(path: Path) -> str:
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    return line.strip()
    except FileNotFoundError:
        raise DataError(f"{path}: no such data file (looked for {path.resolve()})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the data file: {exc}") from None
    raise DataError(f"{path}: the data file is empty (expected a header row "
                    f"'datetime,open,high,low,close,volume' or Binance kline rows)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Table:
    """Raw columns as read, plus each row's 1-based line number in the file."""

    def __init__(self, path: Path, frame: pd.DataFrame, names: dict[str, str], first_line: int):
        self.path = path
        self.names = names  # our column name -> the file's column name (or position)
        blank = frame.isna().all(axis=1).to_numpy()
        self.lines = np.arange(first_line, first_line + len(frame))[~blank]
        self.frame = frame[~blank] if blank.any() else frame

    def fail(self, row: int, message: str) -> DataError:
        return DataError(f"{self.path}: line {self.lines[row]}: {message}")

    def numbers(self, name: str) -> np.ndarray:
        column = self.frame[self.names[name]]
        if pd.api.types.is_numeric_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # something in it is not a number: find the first such cell
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raw = column.iloc[row]
            if pd.isna(raw) or str(raw).strip() == "":
                raise self.fail(row, f"missing value in column '{name}'")
            raise self.fail(row, f"cannot read {str(raw)!r} as a number in column '{name}'")
        return values

    def times(self) -> np.ndarray:
        column = self.frame[self.names["datetime"]]
        if pd.api.types.is_numeric_dtype(column.dtype):
            return _epoch_seconds(self.numbers("datetime"))
        first = column.dropna()
        if len(first) and str(first.iloc[0]).strip().isdigit():  # epoch integers with a bad cell
            return _epoch_seconds(self.numbers("datetime"))
        parsed = pd.to_datetime(column, format="ISO8601", utc=True, errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise self.fail(row, f"cannot read {column.iloc[row]!r} as a date/time in column "
                                 f"'{self.names['datetime']}' (expected ISO 8601 like "
                                 f"2018-01-10T04:55:00Z or epoch milliseconds)")
        return pd.DatetimeIndex(parsed).as_unit("us").asi8 / 1e6


def _read(path: Path, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, skip_blank_lines=False, **kwargs)
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV: {str(exc).strip()}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the data file: {exc}") from None


def _read_with_header(path: Path, header_line: str) -> _Table:
    header = [h.strip().strip('"').strip() for h in header_line.split(",")]
    by_lower = {h.lower(): h for h in header}
    time_name = next((by_lower[n] for n in TIME_COLUMNS if n in by_lower), None)
    missing = [n for n in PRICE_COLUMNS if n not in by_lower]
    if time_name is None:
        missing.insert(0, "datetime")
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                        f"(header has: {', '.join(header)})")
    names = {"datetime": time_name, **{n: by_lower[n] for n in PRICE_COLUMNS}}
    wanted = set(names.values())
    # a fast, typed read first; only a bad cell sends us to the slower read that can name it
    typed = {by_lower[n]: np.float64 for n in PRICE_COLUMNS}
    try:
        frame = _read(path, usecols=lambda c: c.strip() in wanted, dtype=typed)
    except (ValueError, TypeError):
        frame = _read(path, usecols=lambda c: c.strip() in wanted, dtype=str)
    frame.columns = [c.strip() for c in frame.columns]
    return _Table(path, frame, names, first_line=2)


def _read_klines(path: Path, first: str) -> _Table:
    width = len(first.split(","))
    if width < 6:
        raise DataError(f"{path}: line 1: {width} column(s) without a header; expected a header "
                        f"row naming datetime,open,high,low,close,volume or a 12-column Binance "
                        f"kline dump")
    names = dict(zip(("datetime",) + PRICE_COLUMNS, range(6)))
    try:
        frame = _read(path, header=None, usecols=range(6), dtype=np.float64)
    except (ValueError, TypeError):
        frame = _read(path, header=None, usecols=range(6), dtype=str)
    return _Table(path, frame, names, first_line=1)


def _check_order(table: _Table, ts: np.ndarray) -> None:
    step = np.diff(ts)
    bad = step <= 0
    if not bad.any():
        return
    row = int(np.argmax(bad)) + 1
    prev = table.lines[row - 1]
    if step[row - 1] == 0:
        raise table.fail(row, f"duplicate time {iso_z(ts[row])} (same as line {prev})")
    raise table.fail(row, f"time {iso_z(ts[row])} goes backwards (line {prev} has "
                          f"{iso_z(ts[row - 1])}); bars must be sorted by time, oldest first")


def _warn_gaps(path: Path, lines: np.ndarray, ts: np.ndarray) -> None:
    if len(ts) < 3:
        return
    step = np.diff(ts)
    interval = float(np.median(step))
    gaps = np.flatnonzero(step > interval)
    for k in gaps[:MAX_GAP_WARNINGS]:
        missing = int(round(step[k] / interval)) - 1
        log.warning("%s: line %d: gap of %s before this bar (%d bar(s) of %gs missing after %s)",
                    path, lines[k + 1], _duration(step[k]), missing, interval, iso_z(ts[k]))
    if len(gaps) > MAX_GAP_WARNINGS:
        log.warning("%s: %d gaps in total (the first %d are listed above)",
                    path, len(gaps), MAX_GAP_WARNINGS)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return "".join(parts) or "0s"


def load_bars(path: str | Path, start: datetime | None = None,
              end: datetime | None = None) -> BarArrays:
    """Read, check and return the bars of a CSV file, keeping those with ``start <= time <= end``.

    Naive ``start``/``end`` are taken as UTC. Raises DataError naming the file and line.
    """
    path = Path(path)
    first = _first_line(path)
    head = first.split(",")[0].strip().strip('"')
    table = _read_klines(path, first) if _is_number(head) else _read_with_header(path, first)
    if len(table.frame) == 0:
        raise DataError(f"{path}: no bars in the file (only a header row)")
    ts = table.times()
    columns = {name: table.numbers(name) for name in PRICE_COLUMNS}
    low_above = columns["high"] < columns["low"]
    if low_above.any():
        row = int(np.argmax(low_above))
        raise table.fail(row, f"high {columns['high'][row]:g} is below low {columns['low'][row]:g}")
    for name in PRICE_COLUMNS:
        negative = columns[name] < 0
        if negative.any():
            row = int(np.argmax(negative))
            raise table.fail(row, f"negative {name} {columns[name][row]:g}")
    _check_order(table, ts)

    lines = table.lines
    if start is not None or end is not None:
        lo = epoch_seconds(start) if start is not None else -np.inf
        hi = epoch_seconds(end) if end is not None else np.inf
        if lo > hi:
            raise DataError(f"{path}: start {start} is after end {end}")
        i, j = np.searchsorted(ts, lo, side="left"), np.searchsorted(ts, hi, side="right")
        if i >= j:
            raise DataError(f"{path}: no bars between {start} and {end} (the file covers "
                            f"{iso_z(ts[0])} to {iso_z(ts[-1])})")
        ts, lines = ts[i:j], lines[i:j]
        columns = {name: values[i:j] for name, values in columns.items()}
    _warn_gaps(path, lines, ts)
    arrays = [np.ascontiguousarray(ts, dtype=np.float64)]
    arrays += [np.ascontiguousarray(columns[name], dtype=np.float64) for name in PRICE_COLUMNS]
    for array in arrays:
        array.flags.writeable = False
    return BarArrays(*arrays)

"""Load OHLCV bars from a CSV file into numpy columns, checked, fast (1M rows in about a second).

Two formats are recognised from the first line:

* a header row naming a time column (``datetime``; also ``open_time``, ``timestamp``, ``time``
  or ``date``) and ``open, high, low, close, volume`` in any order and case; other columns are
  ignored. Times are ISO 8601 (``2018-01-10T04:55:00Z``; no offset means UTC) or epoch integers.
* a Binance kline dump: no header, 12 columns, the first being the open time.

Epoch times are read by magnitude, value by value: seconds, milliseconds (>= 1e11) or
microseconds (>= 1e14, Binance dumps since 2025). Every problem is a DataError naming the file and
the 1-based line of the file, quoting at most a short excerpt of a bad cell; gaps in the series
are only logged. Every bar must be valid (``feeds.bar_checks``: prices above 0, open and close
within [low, high], ...); a row with more fields than the header (``1,820.5`` is two fields) and
a file separated by semicolons or tabs are refused too.
"""
from __future__ import annotations

import csv
import logging
import os
import re
import warnings
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from feeds.bar_checks import first_invalid
from trading.core.errors import DataError
from trading.core.files import non_regular_kind
from trading.core.text import excerpt
from trading.core.timeutil import epoch_seconds, iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("datetime", "open_time", "timestamp", "time", "date")
MAX_GAP_WARNINGS = 5
HEAD_CHARS = 65536  # of the first lines, enough to tell the format
OTHER_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"))
_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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


def _head(path: Path) -> list[tuple[int, str]]:
    """The first two non-blank lines with their 1-based line numbers (refusing what is no file)."""
    try:
        kind = non_regular_kind(os.stat(path).st_mode)  # stat, not open: a FIFO would block
    except FileNotFoundError:
        raise DataError(f"{path}: no such data file (looked for {path.resolve()})") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise DataError(f"{path}: cannot read the data file: {getattr(exc, 'strerror', None) or exc}"
                        ) from None
    if kind:
        raise DataError(f"{path}: is {kind}, not a data file; give the path of a CSV file")
    found: list[tuple[int, str]] = []
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            for number, line in enumerate(iter(lambda: fh.readline(HEAD_CHARS), ""), 1):
                if line.strip():
                    found.append((number, line.strip()))
                    if len(found) == 2:
                        break
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    if not found:
        raise DataError(f"{path}: the data file is empty (expected a header row "
                        f"'datetime,open,high,low,close,volume' or Binance kline rows)")
    return found


def _not_utf8(path: Path) -> DataError:
    """Name the first line that is not UTF-8 (looked for only once reading has failed)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                return DataError(f"{path}: line {number}: byte 0x{raw[exc.start]:02x} is not UTF-8 "
                                 "text; save the file as UTF-8")
    return DataError(f"{path}: the file is not UTF-8 text; save it as UTF-8")


def _fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # a field over csv's size limit: no header or row of ours
        return line.split(",")


def _wrong_delimiter(path: Path, number: int, line: str) -> None:
    """Refuse a first line that is plainly separated by something else than commas."""
    for sep, name in OTHER_DELIMITERS:
        if line.count(sep) >= len(PRICE_COLUMNS) and line.count(sep) >= line.count(","):
            raise DataError(f"{path}: line {number}: the columns are separated by {name} "
                            f"({sep!r}), not commas; save the file as comma-separated values "
                            "(datetime,open,high,low,close,volume)")


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
            hint = " (a thousands separator? write 1820.5, not 1,820.5)" if "," in str(raw) else ""
            raise self.fail(row, f"cannot read {excerpt(str(raw))} as a number in column "
                                 f"'{name}'{hint}")
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
            raise self.fail(row, f"cannot read {excerpt(str(column.iloc[row]))} as a date/time in column "
                                 f"'{self.names['datetime']}' (expected ISO 8601 like "
                                 f"2018-01-10T04:55:00Z or epoch milliseconds)")
        return pd.DatetimeIndex(parsed).as_unit("us").asi8 / 1e6


def _read(path: Path, **kwargs) -> pd.DataFrame:
    """Every column of every row (pandas checks that no row has more fields than the first)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)  # we say it ourselves
            return pd.read_csv(path, skip_blank_lines=False, index_col=False, **kwargs)
    except pd.errors.ParserError as exc:
        counted = _FIELD_COUNT.search(str(exc))
        if counted:
            expected, line, saw = counted.groups()
            raise DataError(_too_many_fields(path, int(line), int(saw), int(expected))) from None
        raise DataError(f"{path}: malformed CSV: {str(exc).strip()[:200]}") from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data file: {exc.strerror}") from None


def _too_many_fields(path: Path, line: int, saw: int, expected: int,
                     other: str = "the first row") -> str:
    return (f"{path}: line {line}: {saw} fields where {other} has {expected}; a number written "
            "with a thousands separator (1,820.5) is two fields: write 1820.5")


def _read_with_header(path: Path, head: list[tuple[int, str]]) -> _Table:
    number, header_line = head[0]
    header = [h.strip() for h in _fields(header_line)]
    by_lower = {h.lower(): h for h in header}
    time_name = next((by_lower[n] for n in TIME_COLUMNS if n in by_lower), None)
    missing = [n for n in PRICE_COLUMNS if n not in by_lower]
    if time_name is None:
        missing.insert(0, "datetime")
    if missing:
        _wrong_delimiter(path, number, header_line)
        raise DataError(f"{path}: line {number}: missing column(s) {', '.join(missing)} "
                        f"(header has: {excerpt(', '.join(header), 120)})")
    if len(head) > 1 and len(_fields(head[1][1])) > len(header):  # pandas lets this row pass
        raise DataError(_too_many_fields(path, head[1][0], len(_fields(head[1][1])), len(header),
                                         "the header"))
    names = {"datetime": time_name, **{n: by_lower[n] for n in PRICE_COLUMNS}}
    # a fast, typed read first; only a bad cell sends us to the slower read that can name it
    typed = {by_lower[n]: np.float64 for n in PRICE_COLUMNS}
    try:
        frame = _read(path, dtype=typed)
    except (ValueError, TypeError):
        frame = _read(path, dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame[list(names.values())]
    return _Table(path, frame, names, first_line=number + 1)


def _read_klines(path: Path, head: list[tuple[int, str]]) -> _Table:
    number, first = head[0]
    width = len(_fields(first))
    if width < 6:
        _wrong_delimiter(path, number, first)
        raise DataError(f"{path}: line {number}: {width} column(s) without a header; expected a "
                        f"header row naming datetime,open,high,low,close,volume or a 12-column "
                        f"Binance kline dump")
    if len(head) > 1 and len(_fields(head[1][1])) < width:  # the first row is the odd one
        raise DataError(_too_many_fields(path, number, width, len(_fields(head[1][1])),
                                         f"line {head[1][0]}"))
    names = dict(zip(("datetime",) + PRICE_COLUMNS, range(6)))
    columns = list(range(width))  # the first row's width: pandas refuses any longer row
    try:
        frame = _read(path, header=None, names=columns, dtype=np.float64)
    except (ValueError, TypeError):
        frame = _read(path, header=None, names=columns, dtype=str)
    return _Table(path, frame[list(range(6))], names, first_line=number)


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
    head = _head(path)
    first = (_fields(head[0][1]) or [""])[0].strip()
    table = _read_klines(path, head) if _is_number(first) else _read_with_header(path, head)
    if len(table.frame) == 0:
        raise DataError(f"{path}: no bars in the file (only a header row)")
    ts = table.times()
    columns = {name: table.numbers(name) for name in PRICE_COLUMNS}
    invalid = first_invalid([columns[name] for name in PRICE_COLUMNS])
    if invalid is not None:
        raise table.fail(*invalid)
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

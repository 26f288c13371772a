"""Bad bar files, generated deterministically from real candles, each with the line to blame.

Families:

- ``rows``: one row of a header-format file broken in one way (a price outside [low, high], 0,
  negative, 1e308, NaN, inf, empty, text, a thousands separator, an extra or a missing field,
  a NUL-filled cell, a Latin-1 byte, a duplicate or backward time ...) at several rows.
- ``klines``: the same kind of breakage in a Binance kline dump (no header, 12 columns).
- ``files``: the whole file: another delimiter, all zeros, empty, only a header, UTF-16,
  binary, a FIFO, a folder, a missing file, one 1 MB line, a header of NULs; and files that
  are fine (CRLF, a byte-order mark, quotes, an extra column, trailing blank lines).

``expect_line`` is the 1-based line the message must name (0: the file is valid and loads with
``bars`` bars; None: refused, no line to name). ``LIVE_BARS`` are the bars of the ``rows``
family that a live source could send: the live feed must drop each one.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from trading.core.types import Bar

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
ROWS = 60
SEED = 20240607
HEADER = "datetime,open,high,low,close,volume"

Cells = list[str]  # datetime, open, high, low, close, volume, as written
O, H, L, C, V = 1, 2, 3, 4, 5
NAMES = {O: "open", H: "high", L: "low", C: "close", V: "volume"}


@dataclass(frozen=True)
class DataVariant:
    family: str
    name: str
    content: bytes | None
    expect_line: int | None
    words: str = ""  # what the message must say
    bars: int = 0  # a valid file's bar count
    file_name: str = "bars.csv"
    special: str | None = None  # fifo | folder | missing


def sample_rows() -> list[Cells]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[1:ROWS + 1]
    return [line.split(",") for line in lines]


def _number(cells: Cells, i: int) -> float:
    return float(cells[i])


def _set(i: int, value: Callable[[Cells], object]) -> Callable[[Cells], Cells]:
    def change(cells: Cells) -> Cells:
        out = list(cells)
        out[i] = str(value(cells))
        return out
    return change


# one broken row: (name, change, words the message must hold); each keeps the row's time
ROW_BREAKS: list[tuple[str, Callable[[Cells], Cells], str]] = [
    ("open 3x above the high", _set(O, lambda c: 3 * _number(c, H)), "open"),
    ("open below the low", _set(O, lambda c: _number(c, L) / 2), "lies outside the bar's range"),
    ("close above the high", _set(C, lambda c: 1.5 * _number(c, H)), "lies outside the bar's range"),
    ("close below the low", _set(C, lambda c: _number(c, L) / 2), "lies outside the bar's range"),
    ("high below the low", lambda c: [c[0], c[O], c[L], c[H], c[C], c[V]], "is below low"),
    *[(f"{NAMES[i]} = 0", _set(i, lambda c: 0), "is not a price") for i in (O, H, L, C)],
    *[(f"{NAMES[i]} negative", _set(i, lambda c, i=i: -_number(c, i)), "is not a price")
      for i in (O, H, L, C)],
    *[(f"{NAMES[i]} = 1e308", _set(i, lambda c: 1e308), "beyond any real") for i in (O, H, L, C, V)],
    ("volume negative", _set(V, lambda c: -1.5), "volume -1.5 is negative"),
    *[(f"{NAMES[i]} = nan", _set(i, lambda c: "nan"), f"'{NAMES[i]}'") for i in (O, H, L, C, V)],
    *[(f"{NAMES[i]} = inf", _set(i, lambda c: "inf"), "'inf'") for i in (O, H, L, C, V)],
    *[(f"{NAMES[i]} empty", _set(i, lambda c: ""), f"missing value in column '{NAMES[i]}'")
      for i in (O, H, L, C, V)],
    ("volume 1,820.5 (thousands separator)", _set(V, lambda c: "1,820.5"), "thousands separator"),
    ('volume "1,820.5" quoted', _set(V, lambda c: '"1,820.5"'), "thousands separator"),
    ("open 1,820.5 (thousands separator)", _set(O, lambda c: "1,820.5"), "thousands separator"),
    ("an extra field", lambda c: c + ["x"], "fields where"),
    ("the volume field missing", lambda c: c[:V], "missing value in column 'volume'"),
    ("a NUL-filled close", _set(C, lambda c: "\x00" * 20_000), "(20,000 characters)"),
    ("a NUL inside the close", _set(C, lambda c: c[C][:3] + "\x00" + c[C][3:]), "'close'"),
    ("text in the low", _set(L, lambda c: "abc"), "cannot read 'abc'"),
    ("an unreadable time", _set(0, lambda c: "2018-13-45T99:00:00Z"), "date/time"),
]
# breaks that need the row before: (name, change(cells, previous cells), words)
TIME_BREAKS: list[tuple[str, Callable[[Cells, Cells], Cells], str]] = [
    ("a duplicate time", lambda c, p: [p[0]] + c[1:], "duplicate time"),
    ("a time going backwards", lambda c, p: ["2018-01-10T04:00:00Z"] + c[1:], "goes backwards"),
]


def _positions() -> list[int]:
    rng = random.Random(SEED)
    return sorted({0, ROWS // 2, ROWS - 1, rng.randrange(1, ROWS - 1)})


def _csv(rows: list[Cells], header: str | None = HEADER) -> bytes:
    lines = ([header] if header else []) + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def row_variants() -> Iterator[DataVariant]:
    rows = sample_rows()
    for i in _positions():
        for name, change, words in ROW_BREAKS:
            broken = list(rows)
            broken[i] = change(rows[i])
            yield DataVariant("rows", f"row {i + 1}: {name}", _csv(broken), i + 2, words)
        for name, change2, words in TIME_BREAKS:
            if i == 0:
                continue
            broken = list(rows)
            broken[i] = change2(rows[i], rows[i - 1])
            yield DataVariant("rows", f"row {i + 1}: {name}", _csv(broken), i + 2, words)
        latin = _csv(rows).split(b"\n")
        latin[i + 1] = latin[i + 1].replace(b",", b",\xe9", 1)
        yield DataVariant("rows", f"row {i + 1}: a Latin-1 byte", b"\n".join(latin), i + 2,
                          "not UTF-8")


def _kline(cells: Cells) -> Cells:
    ms = int(_epoch(cells[0]) * 1000)
    return [str(ms), *cells[1:], str(ms + 299_999), "123.4", "77", "50.5", "4.9", "0"]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


KLINE_BREAKS = [b for b in ROW_BREAKS if b[0] in (
    "open 3x above the high", "close below the low", "high = 0", "close = 1e308",
    "volume negative", "text in the low", "volume 1,820.5 (thousands separator)", "an extra field")]


def kline_variants() -> Iterator[DataVariant]:
    rows = sample_rows()
    for i in _positions():
        for name, change, words in KLINE_BREAKS:
            klines = [_kline(r) for r in rows]
            klines[i] = change(klines[i])  # the first six cells are the same as a header row's
            yield DataVariant("klines", f"kline {i + 1}: {name}", _csv(klines, header=None), i + 1,
                              words)


def file_variants() -> Iterator[DataVariant]:
    rows = sample_rows()
    good = _csv(rows)
    text = good.decode()
    for sep, words in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        yield DataVariant("files", f"separated by {words}", text.replace(",", sep).encode(), 1, words)
        klines = _csv([_kline(r) for r in rows], header=None).decode()
        yield DataVariant("files", f"a kline dump separated by {words}",
                          klines.replace(",", sep).encode(), 1, words)
    zeros = [[r[0], "0", "0", "0", "0", "0"] for r in rows]
    yield DataVariant("files", "a whole file of zeros", _csv(zeros), 2, "is not a price")
    for name, content, line, words in (
            ("empty", b"", None, "empty"), ("blank lines only", b"\n\n  \n", None, "empty"),
            ("only a header", (HEADER + "\n").encode(), None, "only a header"),
            ("UTF-16", text.encode("utf-16"), 1, "not UTF-8"),
            ("binary", bytes(random.Random(SEED).randrange(256) for _ in range(5000)), None, ""),
            ("one 1 MB line", b"a" * 1_000_000, 1, "missing column"),
            ("a header of NULs", b"\x00" * 20_000 + b"\n" + good.split(b"\n", 1)[1], 1, "missing column"),
            ("no volume column", _csv([r[:V] for r in rows], "datetime,open,high,low,close"), 1,
             "missing column(s) volume")):
        yield DataVariant("files", name, content, line, words)
    for special, words in (("fifo", "FIFO"), ("folder", "folder"), ("missing", "no such data file")):
        yield DataVariant("files", f"the data path is a {special}", None, None, words, special=special)
    valid = (("CRLF line ends", text.replace("\n", "\r\n").encode()),
             ("a byte-order mark", b"\xef\xbb\xbf" + good),
             ("quoted cells", _csv([[f'"{c}"' for c in r] for r in rows],
                                   ",".join(f'"{h}"' for h in HEADER.split(",")))),
             ("an extra column", _csv([r + ["ETHBTC"] for r in rows], HEADER + ",symbol")),
             ("trailing blank lines", good + b"\n\n\n"),
             ("a kline dump", _csv([_kline(r) for r in rows], header=None)))
    for name, content in valid:
        yield DataVariant("files", f"fine: {name}", content, 0, bars=ROWS)


def data_variants() -> list[DataVariant]:
    """Every variant of every family, in a fixed order."""
    return [*row_variants(), *kline_variants(), *file_variants()]


def live_bars() -> list[tuple[str, Bar]]:
    """The numeric breaks of ``ROW_BREAKS`` as bars a live source could send (name, bar)."""
    rows = sample_rows()
    found: list[tuple[str, Bar]] = []
    for name, change, _ in ROW_BREAKS:
        cells = change(rows[ROWS // 2])
        if len(cells) != 6:  # a field more or less: a live source parses before it sends
            continue
        try:
            found.append((name, Bar(_epoch(cells[0]), *[float(x) for x in cells[1:]])))
        except ValueError:  # text, empty, a bad time: the same
            continue
    found.append(("time NaN", Bar(float("nan"), *[float(x) for x in rows[0][1:6]])))
    return found

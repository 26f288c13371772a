"""load_bars reads both CSV formats to the same arrays and names the file line of every problem."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from feeds.csv_bars import load_bars
from trading.core.errors import DataError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
HEADER = "datetime,open,high,low,close,volume"
ROWS = [
    "2018-01-10T04:55:00Z,0.0984,0.0994766,0.09828605,0.0994766,1820.544474",
    "2018-01-10T05:00:00Z,0.09946999,0.0997238,0.099,0.09969,2527.921003",
    "2018-01-10T05:05:00Z,0.09969,0.0999,0.0991,0.0995,3653.02613",
    "2018-01-10T05:10:00Z,0.0995,0.0996,0.0990,0.0992,1000.5",
    "2018-01-10T05:15:00Z,0.0992,0.0993,0.0985,0.0987,900.25",
    "2018-01-10T05:20:00Z,0.0987,0.0990,0.0984,0.0989,1200.0",
]


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "bars.csv") -> Path:
    return _write(tmp_path, "\n".join([header, *rows]) + "\n", name)


def _with(index: int, row: str) -> list[str]:
    rows = list(ROWS)
    rows[index] = row
    return rows


def _kline_dump(path: Path, bars, unit: float) -> None:
    with path.open("w") as fh:
        for ts, o, h, l, c, v in _rows(bars):
            open_time = int(ts * unit)
            fh.write(f"{open_time},{o!r},{h!r},{l!r},{c!r},{v!r},{open_time + int(299.999 * unit)},"
                     f"123.4,77,50.5,4.9,0\n")


def _rows(bars) -> list[tuple[float, ...]]:
    return [tuple(bars.bar(i)) for i in range(len(bars))]


def _same(a, b) -> None:
    for name in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_sample_loads_with_bar_open_times_in_utc():
    bars = load_bars(SAMPLE)
    assert len(bars) == 5760
    assert bars.bar(0).time == datetime(2018, 1, 10, 4, 55, tzinfo=timezone.utc)
    assert bars.bar(0).close == 0.0994766 and bars.bar(1).volume == 2527.921003
    assert bars.interval_seconds == 300.0


@pytest.mark.parametrize("unit", [1e3, 1e6], ids=["milliseconds", "microseconds"])
def test_binance_kline_dump_gives_the_same_arrays(tmp_path, unit):
    expected = load_bars(SAMPLE).slice(0, 300)
    path = tmp_path / "ETHBTC-5m-klines.csv"
    _kline_dump(path, expected, unit)
    _same(load_bars(path), expected)


def test_epoch_milliseconds_in_the_header_format(tmp_path):
    expected = load_bars(SAMPLE).slice(0, 50)
    rows = [f"{int(ts * 1000)},{o!r},{h!r},{l!r},{c!r},{v!r}" for ts, o, h, l, c, v in _rows(expected)]
    _same(load_bars(_csv(tmp_path, rows)), expected)


def test_column_names_any_case_and_order_extra_columns_ignored(tmp_path):
    header = "Volume,Close,symbol,Low,High,Open,DateTime"
    rows = []
    for r in ROWS:
        t, o, h, l, c, v = r.split(",")
        rows.append(",".join([v, c, "ETHBTC", l, h, o, t]))
    _same(load_bars(_csv(tmp_path, rows, header, "shuffled.csv")), load_bars(_csv(tmp_path, ROWS)))


def test_quoted_header_and_cells(tmp_path):
    quoted = [",".join(f'"{cell}"' for cell in row.split(",")) for row in ROWS]
    header = ",".join(f'"{name}"' for name in HEADER.split(","))
    _same(load_bars(_csv(tmp_path, quoted, header, "quoted.csv")), load_bars(_csv(tmp_path, ROWS)))


@pytest.mark.parametrize("rows, line, words", [
    (_with(2, "2018-01-10 5 past 5,0.09969,0.0999,0.0991,0.0995,1"), 4, "date/time"),
    (_with(3, "2018-01-10T05:10:00Z,0.0995,0.0996,abc,0.0992,1000.5"), 5, "'abc' as a number"),
    (_with(1, "2018-01-10T05:00:00Z,0.0995,0.0990,0.0996,0.0992,10"), 3, "high 0.099 is below low"),
    (_with(4, "2018-01-10T05:15:00Z,0.0992,0.0993,0.0985,0.0987,-5"), 6, "volume -5.0 is negative"),
    (_with(2, "2018-01-10T05:05:00Z,-0.1,0.0999,0.0991,0.0995,1"), 4, "open -0.1 is not a price"),
    (_with(3, "2018-01-10T05:10:00Z,0.0995,0.0996,0.0990,,1000.5"), 5, "missing value in column 'close'"),
    (_with(3, "2018-01-10T04:50:00Z,0.0995,0.0996,0.0990,0.0992,1000.5"), 5, "goes backwards"),
    (_with(3, "2018-01-10T05:05:00Z,0.0995,0.0996,0.0990,0.0992,1000.5"), 5, "same as line 4"),
])
def test_bad_rows_are_reported_with_file_and_line(tmp_path, rows, line, words):
    path = _csv(tmp_path, rows)
    with pytest.raises(DataError) as err:
        load_bars(path)
    message = str(err.value)
    assert str(path) in message and f"line {line}:" in message and words in message


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    rows = ROWS[:2] + [""] + _with(3, "2018-01-10T05:10:00Z,0.0995,0.0996,0.0990,0.0992,-1")[2:]
    with pytest.raises(DataError, match="line 6: volume -1.0 is negative"):
        load_bars(_csv(tmp_path, rows))


def test_bad_number_in_a_kline_dump_names_its_line(tmp_path):
    bars = load_bars(SAMPLE).slice(0, 10)
    path = tmp_path / "klines.csv"
    _kline_dump(path, bars, 1e3)
    lines = path.read_text().splitlines()
    cells = lines[6].split(",")
    cells[2] = "x1"
    lines[6] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 7: cannot read 'x1' as a number in column 'high'"):
        load_bars(path)


def test_missing_columns_are_named(tmp_path):
    path = _csv(tmp_path, [",".join(r.split(",")[:5]) for r in ROWS],
                header="datetime,open,high,low,close")
    with pytest.raises(DataError, match=r"line 1: missing column\(s\) volume"):
        load_bars(path)


@pytest.mark.parametrize("text, words", [("", "empty"), ("\n\n", "empty"),
                                         (HEADER + "\n", "only a header")])
def test_empty_files_get_a_clear_error(tmp_path, text, words):
    with pytest.raises(DataError, match=words):
        load_bars(_write(tmp_path, text))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        load_bars(tmp_path / "nope.csv")


def test_gaps_are_warned_with_line_and_size_not_refused(tmp_path, caplog):
    rows = ROWS[:3] + ROWS[5:]  # 05:10 and 05:15 are missing
    with caplog.at_level(logging.WARNING, logger="feeds.csv_bars"):
        bars = load_bars(_csv(tmp_path, rows))
    assert len(bars) == 4
    assert "line 5: gap of 15m" in caplog.text and "2 bar(s)" in caplog.text


def test_start_and_end_keep_bars_in_between_inclusive(tmp_path):
    path = _csv(tmp_path, ROWS)
    bars = load_bars(path, start=datetime(2018, 1, 10, 5, 0), end=datetime(2018, 1, 10, 5, 10))
    assert [b.time.strftime("%H:%M") for b in map(bars.bar, range(len(bars)))] == \
        ["05:00", "05:05", "05:10"]
    with pytest.raises(DataError, match="no bars between"):
        load_bars(path, start=datetime(2019, 1, 1, tzinfo=timezone.utc))

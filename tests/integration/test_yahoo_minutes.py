"""Yahoo's 1-minute bars: a week of history at most, and 3-minute bars built from them, through
``tradingbot download yahoo`` against the loopback Yahoo."""
from __future__ import annotations

from bot_workspace import SAMPLE
from feeds.csv_bars import load_bars
from feeds.resample import resample_bars
from fakes.yahoo import FakeYahoo
from test_yahoo_cli import cli
from trading.core.timeutil import iso_z
from trading.core.types import Bar


def minute_bars(days: float) -> list[Bar]:
    """1-minute bars for the last ``days`` of the 5-minute sample: each 5-minute candle split
    into five minutes of its prices (a fifth of its volume each)."""
    five = load_bars(SAMPLE)
    first = five.ts[-1] - days * 86400
    return [Bar(float(five.ts[i]) + 60 * k, float(five.open[i]), float(five.high[i]),
                float(five.low[i]), float(five.close[i]), float(five.volume[i]) / 5)
            for i in range(len(five)) if five.ts[i] >= first for k in range(5)]


def test_a_start_older_than_a_week_of_minutes_is_moved_and_3m_bars_replay_identically(tmp_path):
    bars = minute_bars(8.5)  # around the clock
    yahoo = FakeYahoo(bars, symbol="ALT-BTC", step=60, history=len(bars) - 1,
                      timezone_name="UTC", around_the_clock=True).start()
    try:
        done = cli(yahoo, tmp_path, "download", "yahoo", "ALT-BTC", "3m", "--start",
                   iso_z(bars[0].ts), "--out", str(tmp_path / "alt.csv"))
        pieces = [r for r in yahoo.chart_requests() if "period1" in r.query]
    finally:
        yahoo.stop()
    assert done.returncode == 0, done.stderr
    assert "Yahoo serves 3m bars back to about" in done.stdout
    (piece,) = pieces  # one request: a week of 1m bars, from a 3m bucket's start
    assert piece.query["interval"] == "1m" and int(piece.query["period1"]) % 180 == 0
    got = load_bars(tmp_path / "alt.csv")
    assert got.ts[0] >= yahoo.market.now - 7 * 86400
    # the same 3m bars replay builds from the 1m bars of that week
    week = [b for b in bars[:-1] if b.ts >= got.ts[0]]
    expected = resample_bars(load_bars_of(week, tmp_path), 180)
    n = len(expected)
    assert [got.bar(i) for i in range(len(got))][:n] == [expected.bar(i) for i in range(n)]
    assert len(got) in (n, n + 1)  # replay leaves out a last bucket the file does not fill


def load_bars_of(bars, tmp_path):
    path = tmp_path / "week-1m.csv"
    path.write_text("datetime,open,high,low,close,volume\n" + "".join(
        f"{iso_z(b.ts)},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}\n" for b in bars))
    return load_bars(path)

"""The ``yahoo`` bar source against the loopback Yahoo: resampled and daily bars, when it asks
again, backoff, and the errors it stops on."""
from __future__ import annotations

import logging
import queue
import time
from pathlib import Path

import numpy as np
import pytest

from fakes.yahoo import FakeYahoo
from feeds.csv_bars import BarArrays, load_bars
from feeds.live import BarSink
from feeds.resample import resample_bars
from trading.venues.yahoo.source import CLOSED_WAIT, YahooBarSource
from trading.core.types import Bar
from trading.runtime.io_thread import IOThread
from trading.venues.yahoo.chart import Chart, Session, UnknownSymbol
from trading.venues.yahoo.connection import YahooVenue

STOCK = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo" / "XYZ-5m.csv"
HOUR, DAY = 3600, 86400


def stock_5m() -> list[Bar]:
    bars = load_bars(STOCK)
    return [bars.bar(i) for i in range(len(bars))]


def by_period(bars: list[Bar], key) -> list[Bar]:
    """Bars combined per ``key(ts) -> opening ts`` (Yahoo's own hourly and daily bars of a
    stock open at 14:30 UTC, the session's start)."""
    groups: dict[float, list[Bar]] = {}
    for bar in bars:
        groups.setdefault(key(bar.ts), []).append(bar)
    return [Bar(ts, g[0].open, max(b.high for b in g), min(b.low for b in g), g[-1].close,
                sum(b.volume for b in g)) for ts, g in sorted(groups.items())]


def session_hours(bars: list[Bar]) -> list[Bar]:
    return by_period(bars, lambda ts: ts - (ts - 1800) % HOUR)  # 14:30, 15:30 ... 20:30


def session_days(bars: list[Bar]) -> list[Bar]:
    return by_period(bars, lambda ts: ts - ts % DAY + 14.5 * HOUR)


def arrays(bars: list[Bar]) -> BarArrays:
    return BarArrays(*[np.array(c, dtype=np.float64) for c in zip(*bars)])


@pytest.fixture
def io():
    thread = IOThread(name="yahoo-source-test")
    thread.start()
    yield thread
    thread.stop(timeout=5.0)


def start(io: IOThread, fake: FakeYahoo, interval: str, lookback: int, retry: float = 0.5):
    venue = YahooVenue(fake.url, request_timeout=2, max_wait=0.02)
    source = YahooBarSource(venue, "XYZ", interval, lookback, retry, poll_delay=0)
    sink = BarSink()
    task = io.submit(source.run(sink), name="yahoo source")
    return source, sink, task


def take(sink: BarSink, until, timeout: float = 20.0) -> list[tuple]:
    """Queue items (bars as (bar, history)) until ``until(bars)`` holds."""
    bars: list[tuple[Bar, bool]] = []
    deadline = time.monotonic() + timeout
    while not until(bars):
        assert time.monotonic() < deadline, f"only {len(bars)} bar(s) came"
        try:
            item = sink.queue.get(timeout=0.1)
        except queue.Empty:
            continue
        if item[0] == 0:
            bars.append((item[1], item[2]))
    return bars


def test_two_hour_bars_are_built_from_hourly_ones_as_replay_builds_them(io):
    hourly = session_hours(stock_5m())
    fake = FakeYahoo(hourly, symbol="XYZ", step=HOUR, history=30).start()
    try:
        source, sink, task = start(io, fake, "2h", lookback=8)
        got = take(sink, lambda b: len(b) >= 8)
        fake.play(pace=0.01)
        got += take(sink, lambda b: b and b[-1][0].ts >= hourly[-8].ts)
        task.cancel()
    finally:
        fake.stop()
    bars = [b for b, _ in got]
    expected = resample_bars(arrays(hourly), 2 * HOUR)
    expected = [expected.bar(i) for i in range(len(expected))]
    assert bars == [e for e in expected if bars[0].ts <= e.ts <= bars[-1].ts]
    assert [h for _, h in got] == [True] * 8 + [False] * (len(got) - 8)
    # a session's last bar (20:00-21:00 UTC, one hourly bar of 30 minutes) is out at the close
    assert any(time.gmtime(b.ts).tm_hour == 20 for b in bars[8:])


def test_the_last_bucket_of_a_session_comes_while_the_market_is_closed(io):
    hourly = session_hours(stock_5m())
    fake = FakeYahoo(hourly, symbol="XYZ", step=HOUR, history=5).start()  # 19:30 is forming
    try:
        _, sink, task = start(io, fake, "2h", lookback=1)
        take(sink, lambda b: len(b) >= 1)
        fake.advance(2)  # 19:30 closes, then 20:30 (30 minutes): the clock stands in the night
        assert fake.market.in_gap
        _, (last, history) = take(sink, lambda b: len(b) >= 2)  # 18:00-20:00, 20:00-21:00
        task.cancel()
    finally:
        fake.stop()
    assert not history and time.gmtime(last.ts)[3:5] == (20, 0)
    assert last.close == hourly[6].close


def test_daily_bars_are_dated_by_their_day_and_delivered_after_the_session(io):
    daily = session_days(stock_5m())
    fake = FakeYahoo(daily, symbol="XYZ", step=DAY, history=6).start()
    try:
        _, sink, task = start(io, fake, "1d", lookback=4)
        history = take(sink, lambda b: len(b) >= 4)
        fake.advance(1)
        live = take(sink, lambda b: len(b) >= 1)
        task.cancel()
    finally:
        fake.stop()
    assert [b.ts for b, _ in history] == [d.ts - 14.5 * HOUR for d in daily[2:6]]
    assert [(b.close, h) for b, h in live] == [(daily[6].close, False)]


def test_backoff_is_capped_at_retry_interval_and_nothing_is_missed_or_doubled(io, caplog):
    fake = FakeYahoo(stock_5m()[:200], symbol="XYZ", history=100).start()
    try:
        with caplog.at_level(logging.WARNING, logger="feeds.venue_source"):
            source, sink, task = start(io, fake, "5m", lookback=10, retry=0.6)
            take(sink, lambda b: len(b) >= 10)
            fake.inject("outage", 6)  # three waits: 0.5, then 0.6 (not 1.0, 2.0)
            fake.advance(20)
            live = take(sink, lambda b: len(b) >= 20)
            task.cancel()
    finally:
        fake.stop()
    waits = [float(r.getMessage().rsplit(" ", 1)[1].rstrip("s")) for r in caplog.records
             if "trying again in" in r.getMessage()]
    assert len(waits) >= 3 and max(waits) == 0.6 and waits[0] == 0.5
    assert [b for b, _ in live] == fake.closed_bars[100:120]


def test_a_symbol_yahoo_does_not_know_stops_the_source_naming_it(io):
    fake = FakeYahoo(stock_5m()[:200], symbol="XYZ", history=100).start()
    try:
        venue = YahooVenue(fake.url, max_wait=0.02)
        source = YahooBarSource(venue, "NOPE", "5m", 10, 0.5)
        with pytest.raises(UnknownSymbol, match="'NOPE'"):
            io.submit(source.run(BarSink()), name="unknown").result(20)
    finally:
        fake.stop()


# -- when the source asks again ------------------------------------------------------------------
def _source(interval: str = "5m", delay: float = 3.0) -> YahooBarSource:
    return YahooBarSource(YahooVenue("http://127.0.0.1:9"), "XYZ", interval, 10, 30, delay)


def _chart(session: Session | None) -> Chart:
    return Chart("XYZ", [], [], "America/New_York", session, [session] if session else [])


OPEN, CLOSE = 1_700_000_000.0 - 1_700_000_000 % DAY + 14.5 * HOUR, 1_700_000_000.0 - \
    1_700_000_000 % DAY + 21 * HOUR


def test_in_session_the_next_poll_is_the_next_close_plus_the_delay():
    source = _source()
    source.last_ts = OPEN + 600
    assert source._next_due(_chart(Session(OPEN, CLOSE)), OPEN + 1000) == OPEN + 1200 + 3


def test_the_short_last_bar_of_a_session_is_asked_for_at_the_close():
    source = _source("1h")
    source.last_ts = CLOSE - 1.5 * HOUR  # 19:30: the next one is 20:30-21:00
    assert source._next_due(_chart(Session(OPEN, CLOSE)), CLOSE - 10) == CLOSE + 3


def test_before_a_session_it_sleeps_until_the_first_bar_of_the_session_closes():
    source = _source()
    source.last_ts = CLOSE - DAY - 300  # yesterday's last bar
    tomorrow = Session(OPEN, CLOSE)
    assert source._next_due(_chart(tomorrow), OPEN - 8 * HOUR) == OPEN + 300 + 3


def test_after_the_close_with_no_session_announced_it_asks_again_now_and_then():
    source = _source()
    source.last_ts = CLOSE - 300
    now = CLOSE + 2 * HOUR
    assert source._next_due(_chart(Session(OPEN, CLOSE)), now) == now + CLOSED_WAIT


def test_a_daily_bar_is_asked_for_after_its_session_closes():
    source = _source("1d")
    source.last_ts = OPEN - DAY
    assert source._next_due(_chart(Session(OPEN, CLOSE)), OPEN + HOUR) == CLOSE + 3


def test_a_bar_built_from_hourly_bars_offset_from_the_hour_is_asked_for_when_its_last_closes():
    source = _source("2h")
    source.last_ts = OPEN - 0.5 * HOUR  # the 14:00-16:00 bar; 16:00-18:00 holds 16:30 and 17:30
    assert source._next_due(_chart(Session(OPEN, CLOSE)), OPEN + 2 * HOUR) == \
        OPEN - 0.5 * HOUR + 4.5 * HOUR + 3  # 18:30, when the 17:30 hourly bar closes


def test_without_warm_up_the_bars_closed_before_the_start_are_not_delivered(io):
    fake = FakeYahoo(stock_5m()[:200], symbol="XYZ", history=100).start()
    try:
        _, sink, task = start(io, fake, "5m", lookback=0)
        assert wait_for_chart_requests(fake, 2)
        fake.advance(1)
        (bar, history), = take(sink, lambda b: len(b) >= 1)
        task.cancel()
    finally:
        fake.stop()
    assert not history and bar == fake.closed_bars[-1] == stock_5m()[100]


def wait_for_chart_requests(fake: FakeYahoo, count: int, timeout: float = 10.0) -> bool:
    return fake.wait_for(lambda: len(fake.chart_requests()) >= count, timeout)


def test_a_daily_poll_reaches_back_a_day_for_sessions_starting_the_day_before_in_utc(io):
    daily = session_days(stock_5m())
    fake = FakeYahoo(daily, symbol="XYZ", step=DAY, history=6).start()
    try:
        _, sink, task = start(io, fake, "1d", lookback=2)
        take(sink, lambda b: len(b) >= 2)
        fake.advance(1)
        take(sink, lambda b: len(b) >= 1)
        task.cancel()
    finally:
        fake.stop()
    polls = [r for r in fake.chart_requests() if "period1" in r.query][1:]
    # the first poll after the warm-up (last bar: daily[5]) asks from that bar's own day on
    assert polls and int(polls[0].query["period1"]) == daily[5].ts - 14.5 * HOUR


# -- a basket: one round per bar for every symbol --------------------------------------------------
def _basket(interval: str = "5m", delay: float = 3.0) -> YahooBarSource:
    return YahooBarSource(YahooVenue("http://127.0.0.1:9"), ("BTC-USD", "XYZ"), interval, 10,
                          30, delay)


def _answer(at: float, session: Session | None) -> Chart:
    return Chart("XYZ", [], [], "America/New_York", session, [session] if session else [],
                 server_time=at)


def test_a_basket_round_delivers_up_to_what_its_first_answer_had_surely_closed():
    source = _basket()
    # the second answer came 40 s later: a bar closed in between is not in the first
    first, second = _answer(OPEN + 1203, None), _answer(OPEN + 1243, None)
    assert source._horizon([second, first]) == OPEN + 1203 - 300 - 2 - 3  # settle: bar, margin,
    # delay: the bar opening at OPEN + 900 closed at OPEN + 1200, was out 3 s later: it is in
    assert OPEN + 600 < source._horizon([first, second]) < OPEN + 900


def test_a_basket_polls_when_its_first_symbol_has_a_bar_due_by_its_own_hours():
    source = _basket()
    source.last_delivered = [CLOSE + 3600, CLOSE - 300]  # the pair trades on, XYZ closed
    pair, stock = _answer(CLOSE + 3700, Session(CLOSE - DAY, CLOSE + 3 * HOUR)), \
        _answer(CLOSE + 3700, Session(OPEN, CLOSE))
    due = source._due([pair, stock], CLOSE + 3700)
    assert due == CLOSE + 3600 + 300 + 300 + 2 + 3  # the pair's next bar, once out
    assert source._said_closed == {1}  # XYZ's closed market, said once


def test_a_basket_of_daily_bars_goes_out_once_every_markets_day_has_ended():
    source = _basket("1d")
    day = OPEN - OPEN % DAY  # 00:00 UTC of the session's date
    source.last_delivered = [day - DAY, day - DAY]
    assert source._due([_answer(CLOSE, Session(OPEN, CLOSE))] * 2, CLOSE) == \
        day + 1.25 * DAY + 2 + 3  # 30 hours after 00:00 UTC of its date, and out

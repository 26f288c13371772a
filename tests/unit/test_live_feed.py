"""LiveFeed + BarSink + FileBarSource: the bars a live strategy sees, its warm-up flags and states."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import backtrader as bt
import pytest

from feeds.array_feed import ArrayFeed
from feeds.csv_bars import load_bars
from feeds.factory import build_source
from feeds.file import FileBarSource
from feeds.live import DELAYED, LIVE, BarSink, LiveFeed, SinkClosed
from strategies.mixins.base import Bar
from trading.core.settings import DataConfig
from trading.core.errors import ConfigError, DataError
from trading.runtime.io_thread import IOThread

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
STEP = 300.0
RUN_TIMEOUT = 30.0  # a run that hangs is stopped and fails the test instead of hanging it


@pytest.fixture(scope="module")
def bars():
    return load_bars(SAMPLE)


@pytest.fixture
def io():
    with IOThread(name="test-feed-io") as thread:
        yield thread


class Probe(bt.Strategy):
    """Records what a strategy sees per bar, and trades on a fixed schedule once live."""

    def __init__(self) -> None:
        self.rows: list[tuple[Bar, bool, bool, float]] = []
        self.states: list[tuple[str, int]] = []  # (state, bars seen before it was notified)
        self.fills: list[tuple[float, float, float]] = []
        self.longest_buffer = 0

    def notify_data(self, data, status, *args, **kwargs) -> None:
        self.states.append((data._getstatusname(status), len(self.rows)))

    def next(self) -> None:
        d = self.data
        self.rows.append((d.current_bar(), d.is_warmup(), d.is_last_warmup(), d.datetime[0]))
        self.longest_buffer = max(self.longest_buffer, len(d.close.array))
        if not d.is_warmup() and len(self.rows) % 40 == 0:
            if self.position:
                self.close()
            else:
                self.buy(size=1.0)

    def notify_order(self, order) -> None:
        if order.status == order.Completed:
            self.fills.append((self.data.datetime[0], order.executed.price, order.executed.size))


def run(data: bt.feed.DataBase, live: bool = True) -> Probe:
    """One Cerebro run, as the live bot runs it (or as replay does, with ``live=False``)."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(data)
    cerebro.addstrategy(Probe)
    timed_out = threading.Event()
    watchdog = threading.Timer(RUN_TIMEOUT, lambda: (timed_out.set(), cerebro.runstop()))
    watchdog.start()
    try:
        kwargs = dict(runonce=False, preload=False, exactbars=1) if live else {}
        probe = cerebro.run(**kwargs)[0]
    finally:
        watchdog.cancel()
    assert not timed_out.is_set(), f"the run did not end by itself within {RUN_TIMEOUT:g}s"
    return probe


class IdleWatchingFeed(LiveFeed):
    """A LiveFeed that notes each time Cerebro asked it for a bar and it had none (Cerebro then
    idles), with the last bar it had delivered by then: a producer waits for the feed to idle
    instead of guessing how long that takes."""

    def __init__(self) -> None:
        super().__init__()
        self._idle = threading.Condition()
        self._idled_after: set[float | None] = set()

    def load(self) -> bool | None:
        loaded = super().load()
        if loaded is None:
            with self._idle:
                self._idled_after.add(self.last_bar_ts)
                self._idle.notify_all()
        return loaded

    def idled_after(self, ts: float | None, timeout: float = RUN_TIMEOUT) -> bool:
        """Whether, within ``timeout``, the feed came back empty-handed after delivering the bar
        of ``ts`` (None: before its first bar)."""
        with self._idle:
            return self._idle.wait_for(lambda: ts in self._idled_after, timeout)


def filled(*calls) -> BarSink:
    """A sink holding what the given producer calls put in (run before the feed starts)."""
    sink = BarSink(maxsize=100_000)

    async def produce() -> None:
        for method, *args in calls:
            await getattr(sink, method)(*args)

    asyncio.run(produce())
    return sink


def bar_at(ts: float, close: float = 1.0) -> Bar:
    return Bar(ts, close, close, close, close, 10.0)


# -- the file source end to end ----------------------------------------------------------------
def test_file_replay_on_the_io_thread_presents_the_csv_bars_then_ends(bars, io):
    source = FileBarSource(SAMPLE, STEP, lookback_bars=100)
    sink = BarSink()
    future = io.submit(source.run(sink))
    probe = run(LiveFeed(sink=sink, interval_seconds=STEP))

    assert future.result(timeout=5) is None
    assert [bar for bar, *_ in probe.rows] == [bars.bar(i) for i in range(len(bars))]
    assert [warm for _, warm, _, _ in probe.rows] == [True] * 100 + [False] * (len(bars) - 100)
    assert probe.states == [("DELAYED", 0), ("LIVE", 100), ("DISCONNECTED", len(bars))]


def test_live_replay_matches_array_feed_bar_for_bar_and_fill_for_fill(bars, io):
    sink = BarSink()
    io.submit(FileBarSource(SAMPLE, STEP, lookback_bars=250).run(sink))
    live = run(LiveFeed(sink=sink, interval_seconds=STEP))
    replay = run(ArrayFeed(bars=bars, warmup_bars=250), live=False)

    assert [row[:2] for row in live.rows] == [row[:2] for row in replay.rows]
    assert [row[3] for row in live.rows] == [row[3] for row in replay.rows]  # Backtrader dates
    assert len(replay.fills) > 100
    assert live.fills == replay.fills


def test_exactbars_keeps_the_line_buffers_bounded(io):
    sink = BarSink()
    io.submit(FileBarSource(SAMPLE, STEP, lookback_bars=10).run(sink))
    probe = run(LiveFeed(sink=sink, interval_seconds=STEP))
    assert len(probe.rows) > 5000
    assert probe.longest_buffer <= 2  # months of bars, a constant amount of memory


def test_a_bar_put_while_the_feed_waits_reaches_next(io):
    sink = BarSink()
    feed = IdleWatchingFeed(sink=sink, interval_seconds=60)
    bar = bar_at(1_700_000_000.0)

    async def late_bar() -> None:
        try:
            # Cerebro has asked for a bar and found none: it is waiting on the queue
            assert await asyncio.to_thread(feed.idled_after, None), "the feed never waited"
            await sink.put_status(LIVE)
            await sink.put_bar(bar)
        finally:
            await sink.end()  # the run ends even when the producer fails

    producer = io.submit(late_bar())
    probe = run(feed)
    producer.result(timeout=RUN_TIMEOUT)
    assert probe.rows == [(bar, False, False, bt.date2num(bar.time.replace(tzinfo=None)))]


def test_an_order_pending_while_the_feed_idles_fills_on_the_next_bar(io):
    # regression: with exactbars=1 an idle feed used to lose its one buffered bar, and the broker
    # then crashed reading it while checking the pending order
    sink = BarSink()
    feed = IdleWatchingFeed(sink=sink, interval_seconds=60)
    t = 1_700_000_000.0

    async def slow_bars() -> None:
        try:
            await sink.put_status(LIVE)
            for i in range(1, 82):
                ts = t + 60 * i
                await sink.put_bar(bar_at(ts, close=float(i)))
                if i in (40, 80):  # the strategy orders on this bar; then the feed idles
                    assert await asyncio.to_thread(feed.idled_after, ts), f"no idle after bar {i}"
        finally:
            await sink.end()

    producer = io.submit(slow_bars())
    probe = run(feed)
    producer.result(timeout=RUN_TIMEOUT)
    assert len(probe.rows) == 81
    assert [(price, size) for _, price, size in probe.fills] == [(41.0, 1.0), (81.0, -1.0)]


# -- what the feed lets through ----------------------------------------------------------------
def test_duplicate_and_out_of_order_bars_are_dropped():
    t = 1_700_000_000.0
    sink = filled(("put_status", LIVE), ("put_bar", bar_at(t, 1)), ("put_bar", bar_at(t + 60, 2)),
                  ("put_bar", bar_at(t + 60, 2)), ("put_bar", bar_at(t, 1)),
                  ("put_bar", bar_at(t + 120, 3)), ("end",))
    feed = LiveFeed(sink=sink, interval_seconds=60)
    probe = run(feed)
    assert [bar.close for bar, *_ in probe.rows] == [1, 2, 3]
    assert feed.last_bar_ts == t + 120 and feed.status == "DISCONNECTED"


def test_a_gap_in_live_bars_is_a_warning_naming_the_times(caplog):
    t = 1_700_000_040.0  # 2023-11-14T22:14:00Z
    sink = filled(("put_status", LIVE), ("put_bar", bar_at(t)), ("put_bar", bar_at(t + 240)),
                  ("end",))
    with caplog.at_level(logging.INFO, logger="feeds.live"):
        run(LiveFeed(sink=sink, interval_seconds=60, name="ETHBTC"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["ETHBTC: gap: no bars between 2023-11-14T22:14:00Z and "
                        "2023-11-14T22:18:00Z (3 bar(s) of 60s missing)"]


def test_a_gap_inside_history_is_not_a_warning(caplog):
    t = 1_700_000_040.0
    sink = filled(("put_status", DELAYED), ("put_bar", bar_at(t), True),
                  ("put_bar", bar_at(t + 600), True, True), ("end",))
    with caplog.at_level(logging.INFO, logger="feeds.live"):
        probe = run(LiveFeed(sink=sink, interval_seconds=60))
    assert len(probe.rows) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_market_that_closes_has_no_warning_for_nights_and_weekends(caplog):
    friday_close = 1_700_251_200.0  # 2023-11-17T20:00:00Z, then Monday's open
    sink = filled(("put_status", LIVE), ("put_bar", bar_at(friday_close)),
                  ("put_bar", bar_at(friday_close + 2 * 86400 + 13.5 * 3600)), ("end",))
    with caplog.at_level(logging.INFO, logger="feeds.live"):
        probe = run(LiveFeed(sink=sink, interval_seconds=300, market_closes=True))
    assert len(probe.rows) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("gap" in r.getMessage() for r in caplog.records)  # still told, at INFO


def test_a_closed_sink_refuses_more_bars_even_a_waiting_producer():
    sink = BarSink(maxsize=1)

    async def produce() -> None:
        await sink.put_bar(bar_at(0.0))
        asyncio.get_running_loop().call_later(0.05, sink.close)  # the feed stops meanwhile
        await sink.put_bar(bar_at(60.0))  # waits on the full queue until the close

    with pytest.raises(SinkClosed):
        asyncio.run(asyncio.wait_for(produce(), timeout=5))


# -- the file source's history, resume and pace -------------------------------------------------
def _warmup_flags(source: FileBarSource) -> list[tuple[bool, bool]]:
    sink = BarSink(maxsize=100_000)
    asyncio.run(asyncio.wait_for(source.run(sink), timeout=30))
    return [(warm, last) for _, warm, last, _ in run(LiveFeed(sink=sink)).rows]


def test_resume_makes_every_traded_bar_history_even_beyond_lookback(bars):
    flags = _warmup_flags(FileBarSource(SAMPLE, STEP, lookback_bars=10,
                                        resume_after_ts=float(bars.ts[200])))
    assert [warm for warm, _ in flags] == [True] * 201 + [False] * (len(bars) - 201)
    assert [i for i, (_, last) in enumerate(flags) if last] == [200]


def test_resume_before_the_lookback_keeps_the_lookback(bars):
    flags = _warmup_flags(FileBarSource(SAMPLE, STEP, lookback_bars=300,
                                        resume_after_ts=float(bars.ts[20])))
    assert sum(warm for warm, _ in flags) == 300
    assert [i for i, (_, last) in enumerate(flags) if last] == [299]


def _head_csv(tmp_path: Path, rows: int) -> Path:
    lines = SAMPLE.read_text().splitlines()[: rows + 1]
    path = tmp_path / "head.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_speed_paces_the_live_bars(tmp_path):
    source = FileBarSource(_head_csv(tmp_path, 25), STEP, lookback_bars=5, speed=200)
    sink = BarSink()
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(source.run(sink), timeout=30))
    assert time.monotonic() - started >= 0.09  # 20 live bars at 200/s: 19 intervals of 5 ms
    assert sink.queue.qsize() == 25 + 3  # the bars, two states and the end


# -- what the user is told -------------------------------------------------------------------------
def test_a_bad_file_is_a_data_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("datetime,open,high,low,close,volume\n"
                    "2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
                    "2024-01-01T00:05:00Z,1,2,0.5,oops,10\n")
    with pytest.raises(DataError, match=r"bad\.csv: line 3: .*'oops'"):
        FileBarSource(path, STEP, lookback_bars=1)


def test_a_file_coarser_than_the_config_interval_is_refused():
    with pytest.raises(DataError, match=r"the bars are 5m apart, coarser than data.interval 1m"):
        FileBarSource(SAMPLE, 60, lookback_bars=1)


def test_a_file_finer_than_the_config_interval_is_resampled_as_replay_does():
    source = FileBarSource(SAMPLE, 3600, lookback_bars=1)
    hourly = source.bars
    assert hourly.interval_seconds == 3600
    assert all(ts % 3600 == 0 for ts in hourly.ts)


def _data_config(source: str, file_path: Path | None = SAMPLE) -> DataConfig:
    return DataConfig(data_source=source, symbol="ETHBTC", interval="5m", lookback_bars=50,
                      retry_interval=60, file_path=file_path, speed=0)


def test_build_source_makes_the_file_source():
    source = build_source(_data_config("file"), resume_after_ts=None)
    assert isinstance(source, FileBarSource) and source.history_bars == 50
    assert "ETHBTC-5m.csv (5760 bars 2018-01-10T04:55:00Z" in source.describe()


@pytest.mark.parametrize("kind", ["binance", "kraken"])
def test_the_feed_factory_builds_only_files_venues_build_their_own_sources(kind):
    with pytest.raises(ConfigError, match=f"'{kind}' is not a file; a venue's bar source is "
                                          "built by its venue"):
        build_source(_data_config(kind), resume_after_ts=None)


def test_a_file_source_without_a_path_is_a_config_error():
    with pytest.raises(ConfigError, match="data.file_path"):
        build_source(_data_config("file", file_path=None), resume_after_ts=None)

"""The feed contract: every data source, through LiveFeed, behaves the same for the strategy.

Closed bars only, in order, each once; warm-up history flagged (its last bar marked), then live
bars; data states DELAYED then LIVE; the run ends by itself when the source ends, and stops
cleanly (no error, nothing left running) when the bot stops it.

Adding a feed kind: write a factory ``kind_case(tmp_path) -> FeedCase`` (start its loopback fake
there) and add one line to ``FEED_KINDS``; its basket of three goes in ``contract.basket_cases``
(``test_basket_feed_contract`` holds the same promises per symbol, restart and reconnect
included).
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import backtrader as bt
import pytest

from fakes.binance import FakeBinance
from fakes.yahoo import FakeYahoo
from fakes.tws import FakeTWS
from feeds.csv_bars import load_bars
from feeds.factory import build_source
from feeds.live import BarSink, BarSource, LiveFeed
from strategies.mixins.base import Bar
from trading.core.settings import DataConfig, VenueEndpoints
from trading.runtime.io_thread import IOThread
from trading.venues.registry import VenueRequest, venues

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
STOCK = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo" / "XYZ-5m.csv"
RUN_TIMEOUT = 30.0


@dataclass
class FeedCase:
    """One feed kind, ready to run: its source and what it must deliver."""

    source: BarSource
    closed_bars: list[Bar]  # every closed bar the source has to offer, oldest first
    history_bars: int  # how many of them are warm-up history
    interval_seconds: float
    ends_by_itself: bool = True  # a file ends; an exchange stream runs until stopped
    forming_bars: list[Bar] = field(default_factory=list)  # bars not closed yet: never delivered
    close: Callable[[], None] = lambda: None  # stops the kind's fake server, if any


def file_case(tmp_path: Path) -> FeedCase:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(SAMPLE.read_text().splitlines()[:301]) + "\n")
    config = DataConfig(data_source="file", symbol="ETHBTC", interval="5m", lookback_bars=60,
                        retry_interval=1, file_path=path, speed=0)
    bars = load_bars(path)
    return FeedCase(source=build_source(config, resume_after_ts=None),
                    closed_bars=[bars.bar(i) for i in range(len(bars))], history_bars=60,
                    interval_seconds=config.interval_seconds)


class ClosingSource:
    """A venue source that closes its venue connection when its run ends (on the I/O loop)."""

    def __init__(self, source: BarSource, venue) -> None:
        self.source, self.venue = source, venue

    async def run(self, sink: BarSink) -> None:
        try:
            await self.source.run(sink)
        finally:
            await self.venue.close()

    def resume_after(self, ts: float | None) -> None:
        self.source.resume_after(ts)

    def describe(self) -> str:
        return self.source.describe()


def venue_source(config: DataConfig, env: dict[str, str]) -> tuple[BarSource, object]:
    """The bar source of ``config``'s venue and its connection, built as the bot builds them
    (the venue's declaration in the registry), for a bot with a simulated broker."""
    venue = venues().for_data_source(config.data_source)
    connection = venue.connect(VenueRequest(broker=None, data=config, settings=None,
                                            symbol=config.symbol, env=env))
    return venue.bar_source(connection, config, None), connection


def binance_case(tmp_path: Path) -> FeedCase:
    """The kline source against the loopback exchange, which plays 240 more bars once it is live."""
    bars = load_bars(SAMPLE)
    market = [bars.bar(i) for i in range(301)]
    fake = FakeBinance(market, history=60).start()
    config = DataConfig(data_source="binance", symbol="ETHBTC", interval="5m", lookback_bars=60,
                        retry_interval=1, file_path=None, speed=0,
                        endpoints=VenueEndpoints(**fake.urls))
    source, venue = venue_source(config, env={})
    fake.play(gate=lambda: venue.stream_states.get("klines ETHBTC 5m") == "LIVE")
    forming = [bar._replace(high=bar.open, low=bar.open, close=bar.open, volume=0.0)
               for bar in market]
    return FeedCase(source=ClosingSource(source, venue), closed_bars=market[:-1], history_bars=60,
                    interval_seconds=config.interval_seconds, ends_by_itself=False,
                    forming_bars=forming, close=fake.stop)


def yahoo_case(tmp_path: Path) -> FeedCase:
    """The chart-polling source against the loopback Yahoo, which plays a stock's bars (nights, a
    weekend and a holiday between sessions) once the source is live."""
    bars = load_bars(STOCK)
    market = [bars.bar(i) for i in range(301)]
    fake = FakeYahoo(market, symbol="XYZ", history=60).start()
    config = DataConfig(data_source="yahoo", symbol="XYZ", interval="5m", lookback_bars=60,
                        retry_interval=1, file_path=None, speed=0, poll_delay_seconds=0)
    source, venue = venue_source(config, env=fake.env())
    fake.play(pace=0.002, gate=lambda: venue.stream_states.get("chart XYZ 5m") == "LIVE")
    forming = [bar._replace(high=max(bar.open, bar.low), close=bar.open, volume=bar.volume / 2)
               for bar in market]
    return FeedCase(source=ClosingSource(source, venue), closed_bars=market[:-1], history_bars=60,
                    interval_seconds=config.interval_seconds, ends_by_itself=False,
                    forming_bars=[f for f, b in zip(forming, market) if f != b], close=fake.stop)
def ibkr_case(tmp_path: Path) -> FeedCase:
    """keepUpToDate history from the loopback TWS, which closes 240 more bars once it is live."""
    bars = load_bars(SAMPLE)
    market = [bars.bar(i) for i in range(301)]
    fake = FakeTWS().start()
    fake.set_bars("AAPL", market[:60], forming=market[60]._replace(
        high=market[60].open, low=market[60].open, close=market[60].open, volume=0.0))
    config = DataConfig(data_source="ibkr", symbol="AAPL", interval="5m", lookback_bars=60,
                        retry_interval=1, file_path=None, speed=0)
    source, venue = venue_source(config, env={"IBKR_PORT": str(fake.port)})
    stop = threading.Event()

    def live_or_closed() -> bool:  # a case closed unused (its test skipped) ends the wait
        return stop.is_set() or venue.stream_states.get("bars 5 mins") == "LIVE"

    def play() -> None:  # close each bar once the feed is live, as the market would
        if not fake.wait_for(live_or_closed, 20) or stop.is_set():
            return
        for bar in market[60:]:
            if stop.wait(0.002):
                return
            fake.push_bar("AAPL", bar)

    player = threading.Thread(target=play, daemon=True)
    player.start()

    def close() -> None:
        stop.set()
        player.join(5)
        fake.stop()

    forming = [bar._replace(high=bar.open, low=bar.open, close=bar.open, volume=0.0)
               for bar in market]
    return FeedCase(source=ClosingSource(source, venue), closed_bars=market[:-1], history_bars=60,
                    interval_seconds=config.interval_seconds, ends_by_itself=False,
                    forming_bars=forming, close=close)


FEED_KINDS: dict[str, Callable[[Path], FeedCase]] = {
    "file": file_case,
    "binance": binance_case,
    "yahoo": yahoo_case,
    "ibkr": ibkr_case,
}


@pytest.fixture(params=sorted(FEED_KINDS))
def case(request, tmp_path):
    made = FEED_KINDS[request.param](tmp_path)
    yield made
    made.close()


class Recorder(bt.Strategy):
    """What the strategy sees; stops the run after ``stop_after`` bars when given."""

    params = (("stop_after", None),)

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.warmup: list[bool] = []
        self.last_warmup: list[bool] = []
        self.states: list[tuple[str, int]] = []  # (state, bars seen before it was notified)

    def notify_data(self, data, status, *args, **kwargs) -> None:
        self.states.append((data._getstatusname(status), len(self.bars)))

    def next(self) -> None:
        d = self.data
        self.bars.append(d.current_bar())
        self.warmup.append(d.is_warmup())
        self.last_warmup.append(d.is_last_warmup())
        if self.p.stop_after is not None and len(self.bars) >= self.p.stop_after:
            self.env.runstop()


@dataclass
class Run:
    seen: Recorder
    source_task: object  # the concurrent future of the source's run()
    timed_out: bool


def run_feed(case: FeedCase, io: IOThread, stop_after: int | None = None) -> Run:
    """Run the case's source on the I/O thread into a LiveFeed, in a live-mode Cerebro."""
    sink = BarSink(maxsize=16)  # small: the producer has to wait on the consumer
    task = io.submit(case.source.run(sink), name=f"source {case.source.describe()}")
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(LiveFeed(sink=sink, interval_seconds=case.interval_seconds))
    if stop_after is None and not case.ends_by_itself:
        stop_after = len(case.closed_bars)  # a stream: stop once it has offered everything
    cerebro.addstrategy(Recorder, stop_after=stop_after)
    timed_out = threading.Event()
    watchdog = threading.Timer(RUN_TIMEOUT, lambda: (timed_out.set(), cerebro.runstop()))
    watchdog.start()
    try:
        seen = cerebro.run(runonce=False, preload=False, exactbars=1)[0]
    finally:
        watchdog.cancel()
    return Run(seen, task, timed_out.is_set())


def test_delivers_each_closed_bar_once_in_order(case, io):
    run = run_feed(case, io)
    ts = [bar.ts for bar in run.seen.bars]
    assert all(a < b for a, b in zip(ts, ts[1:])), "bars out of order or repeated"
    assert run.seen.bars == case.closed_bars
    assert not set(run.seen.bars) & set(case.forming_bars), "a bar still forming was delivered"


def test_the_source_itself_puts_each_closed_bar_once_in_order(case, io):
    """Straight from the source's sink, without LiveFeed (which drops a bar it already has, so
    through it a source that sends a bar twice would still pass the test above)."""
    sink = BarSink(maxsize=len(case.closed_bars) + 64)
    task = io.submit(case.source.run(sink), name=f"source {case.source.describe()}")
    put: list[Bar] = []
    deadline = threading.Event()
    timer = threading.Timer(RUN_TIMEOUT, deadline.set)
    timer.start()
    try:
        while len(put) < len(case.closed_bars) and not deadline.is_set():
            if task.done() and sink.queue.empty():
                break
            try:
                item = sink.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if item[0] == 0:  # a bar (the others: a state, the end, a wake-up)
                put.append(item[1])
        # a moment more for a bar sent twice at the end of what the source offers
        extra = [item[1] for item in drain(sink, 0.2) if item[0] == 0]
    finally:
        timer.cancel()
        sink.close()
        task.cancel()
    assert not deadline.is_set(), f"the source did not offer every bar within {RUN_TIMEOUT:g}s"
    assert put == case.closed_bars, "a bar missing, repeated or out of order"
    ts = [bar.ts for bar in put + extra]  # a bar the market closed since is fine, not a repeat
    assert all(a < b for a, b in zip(ts, ts[1:])), "a bar repeated or out of order"
    assert not set(extra) & set(case.forming_bars), "a bar still forming was delivered"


def drain(sink: BarSink, seconds: float) -> list[tuple]:
    """What arrives on ``sink`` within ``seconds``."""
    items, deadline = [], threading.Event()
    timer = threading.Timer(seconds, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            try:
                items.append(sink.queue.get(timeout=0.02))
            except queue.Empty:
                continue
    finally:
        timer.cancel()
    return items


def test_flags_history_as_warmup_and_marks_its_last_bar(case, io):
    seen = run_feed(case, io).seen
    live = len(case.closed_bars) - case.history_bars
    assert seen.warmup == [True] * case.history_bars + [False] * live
    assert [i for i, last in enumerate(seen.last_warmup) if last] == [case.history_bars - 1]


def test_reports_delayed_for_history_then_live_before_the_first_live_bar(case, io):
    states = run_feed(case, io).seen.states
    assert states[:2] == [("DELAYED", 0), ("LIVE", case.history_bars)]
    if case.ends_by_itself:
        assert states[2:] == [("DISCONNECTED", len(case.closed_bars))]


def test_ends_by_itself_when_the_source_ends(case, io):
    if not case.ends_by_itself:
        pytest.skip("this source streams until it is stopped")
    run = run_feed(case, io)
    assert not run.timed_out, f"the run did not end within {RUN_TIMEOUT:g}s"
    assert run.source_task.result(timeout=5) is None


def test_stops_cleanly_when_the_bot_stops_mid_stream(case, io, caplog):
    stop_after = case.history_bars + 3
    with caplog.at_level(logging.WARNING):
        run = run_feed(case, io, stop_after=stop_after)
        assert not run.timed_out
        assert len(run.seen.bars) == stop_after
        assert io.stop(timeout=5.0), "the source kept the I/O thread busy"
    assert run.source_task.done()
    assert run.source_task.cancelled() or run.source_task.exception() is None
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

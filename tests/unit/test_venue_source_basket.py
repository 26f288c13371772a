"""The shared venue source's promise per symbol for a basket (feeds.venue_source): the warm-up
split by time across the basket after a restart, backfills and polls delivered in time order
with each complete time marked, and IB's answers read at one instant so no symbol's history runs
ahead of another's."""
from __future__ import annotations

import asyncio
import queue
import threading

from fakes.tws import FakeTWS
from feeds.live import _BAR, _STATUS, _STEP, LIVE, BarSink
from feeds.venue_source import VenueBarSource, split_basket
from trading.core.settings import DataConfig
from trading.core.types import Bar
from trading.runtime.io_thread import IOThread
from trading.venues.registry import VenueRequest, venues

STEP = 300.0


def bar(k: int, price: float = 1.0) -> Bar:
    return Bar(1_700_000_000.0 + k * STEP, price, price, price, price, 1.0)


class _Venue:
    stream_states: dict[str, str] = {}


def source(symbols=("A", "B", "C"), lookback: int = 3) -> VenueBarSource:
    return VenueBarSource(_Venue(), key="k", label="test", lookback_bars=lookback,
                          retry_interval=1, symbols=symbols)


def items(sink: BarSink) -> list[tuple]:
    out = []
    while not sink.queue.empty():
        out.append(sink.queue.get_nowait())
    return out


def test_after_a_restart_the_steps_missed_are_decided_across_the_basket_not_per_symbol():
    a = [bar(k) for k in range(10)]
    b = [bar(k) for k in range(10) if k not in (7, 8)]  # B traded nothing at 7 and 8
    histories, lives = split_basket([a, b], resume_ts=bar(4).ts, lookback_bars=3,
                                    labels=["A", "B"])
    # the last 3 steps missed by the basket (7, 8, 9) are traded, whoever has a bar there
    assert lives == [a[7:], [bar(9)]]
    assert histories == [a[4:7], [bar(4), bar(5), bar(6)]]
    # a symbol's own count would have traded B's 5 and 6 (its last 3) while A only warms up
    first_run, none = split_basket([a, b], None, 3, ["A", "B"])
    assert first_run == [a[-3:], b[-3:]] and none == [[], []]


def test_a_backfill_goes_out_in_time_order_each_complete_time_marked():
    src = source(("A", "B"))
    sink = BarSink()
    src.last_delivered = [bar(0).ts, bar(1).ts]

    async def run():
        await src.deliver_steps(sink, [[bar(1), bar(2), bar(3)], [bar(1), bar(2), bar(3)]],
                                complete_through=bar(2).ts)
    asyncio.run(run())
    got = [(i[0], i[1].ts if i[0] == _BAR else i[1], i[4] if i[0] == _BAR else None)
           for i in items(sink)]
    assert got == [(_BAR, bar(1).ts, 0), (_STEP, bar(1).ts, None),  # B's 1: delivered already
                   (_BAR, bar(2).ts, 0), (_BAR, bar(2).ts, 1), (_STEP, bar(2).ts, None),
                   (_BAR, bar(3).ts, 0), (_BAR, bar(3).ts, 1)]  # 3: not known complete


def test_one_symbol_never_marks_steps():
    src = source(("A",))
    sink = BarSink()

    async def run():
        await src.warm_up(sink, [bar(k) for k in range(5)])
        await src.deliver_steps(sink, [[bar(5)]])
        await src.mark_complete(sink, bar(5).ts)
    asyncio.run(run())
    assert [i[0] for i in items(sink)] == [_BAR] * 4
    assert src.last_ts == bar(5).ts


def test_an_ib_answer_a_bar_ahead_of_another_keeps_that_bar_out_of_the_history():
    """A bar closed at TWS between two contracts' history requests: the later answer holds it,
    the earlier does not (its bar comes as an update). It is the first live bar, not history,
    so the basket's step for it waits for the other contract's bar instead of running ahead."""
    tws = FakeTWS().start()
    io = IOThread(name="ib-basket")
    io.start()
    try:
        a = [bar(k, 100.0 + k) for k in range(70)]
        b = [bar(k, 200.0 + k) for k in range(70)]
        tws.set_bars("AAPL", a[:60], forming=a[60]._replace(volume=0.0))
        tws.set_bars("SPY", b[:61], forming=b[61]._replace(volume=0.0))  # SPY's 60 closed
        data = DataConfig(data_source="ibkr", symbol="AAPL", symbols=("AAPL", "SPY"),
                          interval="5m", lookback_bars=10, retry_interval=1, file_path=None,
                          speed=0)
        venue_decl = venues().for_data_source("ibkr")
        venue = venue_decl.connect(VenueRequest(broker=None, data=data, settings=None,
                                                symbol="AAPL", env={"IBKR_PORT": str(tws.port)}))
        src = venue_decl.bar_source(venue, data, None)
        sink = BarSink()
        task = io.submit(src.run(sink), name="ib basket")
        got: list[tuple] = []

        def take(until) -> None:
            deadline = threading.Event()
            timer = threading.Timer(20, deadline.set)
            timer.start()
            try:
                while not until() and not deadline.is_set():
                    try:
                        got.append(sink.queue.get(timeout=0.05))
                    except queue.Empty:
                        pass
            finally:
                timer.cancel()
            assert not deadline.is_set(), got
        take(lambda: (_STATUS, LIVE) in got and any(i[0] == _BAR and not i[2] for i in got))
        tws.push_bar("AAPL", a[60])  # AAPL's 60 closes: the step is complete
        take(lambda: sum(1 for i in got if i[0] == _BAR and i[1] == a[60]) == 1)
        task.cancel()
        io.submit(venue.close(), name="close").result(5)
    finally:
        io.stop(timeout=5)
        tws.stop()
    bars = [(i[4], i[1].ts, i[2]) for i in got if i[0] == _BAR]
    history = [(s, ts) for s, ts, h in bars if h]
    assert history == [(0, bar(k).ts) for k in range(50, 60)] + \
        [(1, bar(k).ts) for k in range(50, 60)]  # both end at 59
    live = [(s, ts) for s, ts, h in bars if not h]
    assert live == [(1, bar(60).ts), (0, bar(60).ts)]
    last_history = max(k for k, i in enumerate(got) if i[0] == _BAR and i[2])
    assert got.index((_STATUS, LIVE)) > last_history  # every symbol's history first

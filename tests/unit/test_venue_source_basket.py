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


class IbBasket:
    """Two contracts at the loopback TWS, SPY's history a bar ahead of AAPL's (its bar 60 closed
    between the two requests), and the basket source reading them into a sink."""

    def __init__(self) -> None:
        self.tws = FakeTWS().start()
        self.io = IOThread(name="ib-basket")
        self.io.start()
        self.a = [bar(k, 100.0 + k) for k in range(70)]
        self.b = [bar(k, 200.0 + k) for k in range(70)]
        self.tws.set_bars("AAPL", self.a[:60], forming=self.a[60]._replace(volume=0.0))
        self.tws.set_bars("SPY", self.b[:61], forming=self.b[61]._replace(volume=0.0))
        data = DataConfig(data_source="ibkr", symbol="AAPL", symbols=("AAPL", "SPY"),
                          interval="5m", lookback_bars=10, retry_interval=1, file_path=None,
                          speed=0)
        declared = venues().for_data_source("ibkr")
        self.venue = declared.connect(VenueRequest(
            broker=None, data=data, settings=None, symbol="AAPL",
            env={"IBKR_PORT": str(self.tws.port)}))
        self.sink = BarSink()
        self.task = self.io.submit(declared.bar_source(self.venue, data, None).run(self.sink),
                                   name="ib basket")
        self.got: list[tuple] = []

    def take(self, until) -> None:
        """Read the sink until ``until()`` (bounded: 20 s)."""
        deadline = threading.Event()
        timer = threading.Timer(20, deadline.set)
        timer.start()
        try:
            while not until() and not deadline.is_set():
                try:
                    self.got.append(self.sink.queue.get(timeout=0.05))
                except queue.Empty:
                    pass
        finally:
            timer.cancel()
        assert not deadline.is_set(), self.got

    def bars(self, history: bool) -> list[tuple[int, float]]:
        return [(i[4], i[1].ts) for i in self.got if i[0] == _BAR and i[2] == history]

    def close(self) -> None:
        self.task.cancel()
        self.io.submit(self.venue.close(), name="close").result(5)
        self.io.stop(timeout=5)
        self.tws.stop()


def test_an_ib_answer_a_bar_ahead_of_another_holds_that_bar_until_the_other_catches_up(
        monkeypatch):
    """A bar closed at TWS between two contracts' history requests: the later answer holds it,
    the earlier does not (its bar comes as an update). It is no history, and it waits for the
    other contract's bar of its time, so the basket's step gets both, in time order."""
    monkeypatch.setattr("trading.venues.ibkr.source.HOLD_SECONDS", 60.0)
    ib = IbBasket()
    try:
        ib.take(lambda: (_STATUS, LIVE) in ib.got)
        assert ib.bars(history=False) == []  # SPY's 60 is held
        ib.tws.push_bar("AAPL", ib.a[60])  # AAPL's 60 closes: the step is complete
        ib.take(lambda: (_STEP, bar(60).ts) in ib.got)
    finally:
        ib.close()
    assert ib.bars(history=True) == [(0, bar(k).ts) for k in range(50, 60)] + \
        [(1, bar(k).ts) for k in range(50, 60)]  # both end at 59
    assert ib.bars(history=False) == [(0, bar(60).ts), (1, bar(60).ts)]
    kinds = [i[0] for i in ib.got]
    assert kinds.index(_STEP) > max(k for k, i in enumerate(ib.got) if i[0] == _BAR)
    last_history = max(k for k, i in enumerate(ib.got) if i[0] == _BAR and i[2])
    assert ib.got.index((_STATUS, LIVE)) > last_history  # every symbol's history first


def test_an_ib_bar_held_for_a_silent_contract_goes_on_after_a_moment(monkeypatch):
    """AAPL trades nothing after its bar 59: SPY's bar 60 does not wait for it for ever."""
    monkeypatch.setattr("trading.venues.ibkr.source.HOLD_SECONDS", 0.05)
    ib = IbBasket()
    try:
        ib.take(lambda: (_STEP, bar(60).ts) in ib.got)
    finally:
        ib.close()
    assert ib.bars(history=False) == [(1, bar(60).ts)]

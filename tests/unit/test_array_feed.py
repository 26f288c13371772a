"""ArrayFeed gives a Backtrader strategy exactly what Backtrader's own PandasData gives it."""
from __future__ import annotations

from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from feeds.array_feed import ArrayFeed
from trading.core.timeutil import bt_date_number
from feeds.csv_bars import load_bars

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"


class Recorder(bt.Strategy):
    """Records every bar it sees and trades on a fixed schedule and on an SMA cross."""

    def __init__(self) -> None:
        self.sma = bt.indicators.SMA(self.data.close, period=20)
        self.seen: list[tuple] = []
        self.fills: list[tuple] = []

    def next(self) -> None:
        d = self.data
        self.seen.append((d.datetime.datetime(0), d.open[0], d.high[0], d.low[0], d.close[0],
                          d.volume[0], self.sma[0], self.broker.getvalue()))
        if not self.position and d.close[0] > self.sma[0]:
            self.buy(size=0.1 * self.broker.getvalue() / d.close[0])
        elif self.position and d.close[0] < self.sma[0]:
            self.close()

    def notify_order(self, order) -> None:
        if order.status == order.Completed:
            self.fills.append((self.data.datetime.datetime(0), order.isbuy(),
                               order.executed.price, order.executed.size, order.executed.comm))


def _run(data: bt.feed.DataBase, runonce: bool, preload: bool = True) -> Recorder:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    cerebro.adddata(data)
    cerebro.broker.setcash(1000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(Recorder)
    return cerebro.run()[0]


def _pandas_feed() -> bt.feeds.PandasData:
    frame = pd.read_csv(SAMPLE)
    frame.index = pd.to_datetime(frame.pop("datetime"), utc=True).dt.tz_localize(None)
    return bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=5)


@pytest.fixture(scope="module")
def bars():
    return load_bars(SAMPLE)


@pytest.mark.parametrize("runonce", [True, False], ids=["runonce", "next-mode"])
def test_strategy_sees_the_same_bars_and_fills_as_with_pandasdata(bars, runonce):
    expected = _run(_pandas_feed(), runonce)
    got = _run(ArrayFeed(bars=bars), runonce)

    assert len(got.seen) == len(bars) - 19  # every bar once the SMA(20) is ready
    assert got.seen == expected.seen
    assert len(expected.fills) >= 4
    assert got.fills == expected.fills


def test_market_order_fills_at_the_next_bars_open(bars):
    got = _run(ArrayFeed(bars=bars), runonce=True)
    times = [np.datetime64(t, "s").astype(np.int64) for t, *_ in got.fills]
    for ts, (_, _, price, _, _) in zip(times, got.fills):
        i = int(np.searchsorted(bars.ts, ts))
        assert bars.ts[i] == ts and price == pytest.approx(bars.open[i], rel=1e-12)


def test_unpreloaded_run_delivers_the_same_bars(bars):
    expected = _run(ArrayFeed(bars=bars), runonce=True)
    got = _run(ArrayFeed(bars=bars), runonce=False, preload=False)
    assert got.seen == expected.seen
    assert got.fills == expected.fills


def test_date_numbers_are_bit_identical_to_backtrader(bars):
    dates = pd.to_datetime(bars.ts, unit="s").to_pydatetime()
    assert bt_date_number(bars.ts).tolist() == [bt.date2num(d) for d in dates]


class _BarProbe(bt.Strategy):
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def next(self) -> None:
        self.rows.append((self.data.current_bar(), self.data.is_warmup()))


def test_current_bar_and_warmup_follow_the_position(bars):
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(ArrayFeed(bars=bars.slice(0, 50), warmup_bars=10))
    cerebro.addstrategy(_BarProbe)
    rows = cerebro.run()[0].rows

    assert [bar for bar, _ in rows] == [bars.bar(i) for i in range(50)]
    assert [warm for _, warm in rows] == [True] * 10 + [False] * 40
    assert all(type(v) is float for v in rows[0][0])

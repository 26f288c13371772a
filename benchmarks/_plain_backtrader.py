"""The replay benchmarks' baseline: the documented rules written the usual Backtrader way.

RSI(14, Wilder's, safediv) <= 30 and close <= lower BB(20, 2.0) and volume > 1.5 x SMA(volume, 20)
to enter with 0.1 of the account's value; RSI >= 70 and close >= upper band to exit; commission
0.1 %, 1000 initial; a default Cerebro (stdstats, runonce, preload) over PandasData.

As a script it is the whole plain process a Backtrader user would write, the CSV read included:

    python benchmarks/_plain_backtrader.py BARS.csv TRADES.json
"""
from __future__ import annotations

import json
import sys
import time

import backtrader as bt
import pandas as pd


class Baseline(bt.Strategy):
    """The same rules as the benchmark config's mixins."""

    def __init__(self) -> None:
        self.rsi = bt.indicators.RSI(self.data.close, period=14, safediv=True)
        self.bb = bt.indicators.BollingerBands(self.data.close, period=20, devfactor=2.0)
        self.vol = bt.indicators.SMA(self.data.volume, period=20)
        self.pending = None
        self.entry: list[float] | None = None
        self.trades: list[list[float]] = []

    def next(self) -> None:
        if self.pending is not None:
            return
        close = self.data.close[0]
        if not self.position:
            if (self.rsi[0] <= 30 and close <= self.bb.bot[0]
                    and self.data.volume[0] > 1.5 * self.vol[0]):
                self.pending = self.buy(size=0.1 * self.broker.getvalue() / close)
        elif self.rsi[0] >= 70 and close >= self.bb.top[0]:
            self.pending = self.close()

    def notify_order(self, order) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        self.pending = None
        if order.status != order.Completed:
            return
        ts = round((self.data.datetime[0] - 719163.0) * 86400.0)
        if order.isbuy():
            self.entry = [ts, order.executed.price]
        elif self.entry is not None:
            self.trades.append([self.entry[0], ts, self.entry[1], order.executed.price])
            self.entry = None


def run(frame: pd.DataFrame) -> tuple[float, list[list[float]]]:
    """Run the baseline over a frame indexed by time; (seconds of cerebro.run, trades)."""
    cerebro = bt.Cerebro()  # the defaults: stdstats, runonce, preload
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.broker.setcash(1000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(Baseline)
    started = time.perf_counter()
    strategy = cerebro.run()[0]
    return time.perf_counter() - started, strategy.trades


def main(csv_path: str, out_path: str) -> None:
    frame = pd.read_csv(csv_path)
    frame.index = pd.to_datetime(frame.pop("datetime"), utc=True).dt.tz_localize(None)
    _, trades = run(frame)
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(trades, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""A Backtrader data feed over ``BarArrays``: bulk preload and a lean per-bar advance.

Backtrader's own feeds load bar by bar through ``_load`` (PandasData reads the frame cell by
cell); this one fills each line's buffer from the numpy columns at once and moves all lines with
one ``advance``, which halves Backtrader's per-bar cost. It also works unpreloaded (``_load``
delivers one bar per call), for ``exactbars`` runs.

Date filtering belongs to ``load_bars(start, end)``: ``fromdate``/``todate``/filters are refused.
"""
from __future__ import annotations

import array

import backtrader as bt
import numpy as np

from feeds.csv_bars import BarArrays
from feeds.timeframe import backtrader_timeframe
from trading.core.timeutil import bt_date_number
from trading.core.types import Bar

def _column(values: np.ndarray) -> array.array:
    return array.array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


class ArrayFeed(bt.feed.DataBase):
    """Bars from ``BarArrays``; ``warmup_bars`` marks the first bars as history (no trading)."""

    params = (("bars", None), ("warmup_bars", 0))

    def __init__(self) -> None:
        bars = self.p.bars
        if not isinstance(bars, BarArrays):
            raise TypeError(f"ArrayFeed needs bars=BarArrays, got {type(bars).__name__}")
        if self.p.fromdate is not None or self.p.todate is not None or self.p.filters:
            raise ValueError("ArrayFeed does not filter: pass start/end to load_bars instead")
        self._n = len(bars)
        self._warmup = int(self.p.warmup_bars)
        if self.p.timeframe == bt.TimeFrame.Days and self.p.compression == 1:  # the defaults
            self.p.timeframe, self.p.compression = backtrader_timeframe(bars.interval_seconds)
        # array.array columns: indexing gives plain floats cheaply and shares memory with the lines
        self._ts = _column(bars.ts)
        self._dt = _column(bt_date_number(np.asarray(bars.ts, dtype=np.float64)))
        self._ohlcv = tuple(_column(getattr(bars, name))
                            for name in ("open", "high", "low", "close", "volume"))
        self._oi = array.array("d", bytes(8 * self._n))  # no open interest: zeros
        self._next_load = 0
        self._preloaded: tuple = ()

    def start(self) -> None:
        super().start()
        self._next_load = 0

    # -- preloaded runs (runonce and next mode) ---------------------------------------------
    def preload(self) -> None:
        lines = self.lines
        for line, values in zip((lines.datetime, lines.open, lines.high, lines.low, lines.close,
                                 lines.volume, lines.openinterest),
                                (self._dt, *self._ohlcv, self._oi)):
            if line.extension:  # Cerebro extends by ``lookahead`` before preloading
                values = values + array.array("d", [float("nan")] * line.extension)
            line.array = values  # the lines share the columns, no copy
        self._next_load = self._n  # everything is delivered: ``_load`` must not start over
        self.home()
        self._preloaded = tuple(self.lines.lines)

    def advance(self, size: int = 1, datamaster=None, ticks: bool = True) -> None:
        if self._preloaded:
            # preloaded lines are unbounded buffers: moving one is two counters (what
            # LineBuffer.advance does through its index property, at a third of the cost)
            for line in self._preloaded:
                line._idx += size
                line.lencount += size
        else:
            self.lines.advance(size)
        if ticks:
            self._tick_fill()

    def advance_peek(self) -> float:
        i = self.lines.datetime.lencount
        return self._dt[i] if i < self._n else float("inf")

    def _tick_fill(self, force: bool = False) -> None:
        # the broker fills orders from the tick_ values; a bar is its own single tick
        i = self.lines.datetime.lencount - 1
        if 0 <= i < self._n:
            o, h, l, c, v = self._ohlcv
            self.tick_open, self.tick_high, self.tick_low = o[i], h[i], l[i]
            self.tick_close = self.tick_last = c[i]
            self.tick_volume, self.tick_openinterest = v[i], 0.0

    # -- unpreloaded runs: one bar per call ----------------------------------------------------
    def _load(self) -> bool:
        i = self._next_load
        if i >= self._n:
            return False
        self._next_load = i + 1
        lines = self.lines
        lines.datetime[0] = self._dt[i]
        o, h, l, c, v = self._ohlcv
        lines.open[0], lines.high[0], lines.low[0] = o[i], h[i], l[i]
        lines.close[0], lines.volume[0], lines.openinterest[0] = c[i], v[i], 0.0
        return True

    # -- what the strategy reads ---------------------------------------------------------------
    def current_bar(self) -> Bar:
        """The bar at the current position, as plain floats."""
        i = self.lines.datetime.lencount - 1
        o, h, l, c, v = self._ohlcv
        return Bar(self._ts[i], o[i], h[i], l[i], c[i], v[i])

    def is_warmup(self) -> bool:
        """True while the current bar is one of the first ``warmup_bars`` (history only)."""
        return self.lines.datetime.lencount <= self._warmup

    def is_last_warmup(self) -> bool:
        """True on the last warm-up bar (where a restarted bot re-places its orders)."""
        return self.lines.datetime.lencount == self._warmup

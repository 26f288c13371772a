"""The fake's market: a list of bars played one at a time, and its clock.

Bars ``[0, cursor)`` are closed; bar ``cursor`` is forming (Binance shows it with its open price
only). The market clock stands in the middle of the forming bar and runs with the wall clock from
there, never reaching the forming bar's close: only ``advance()`` closes a bar. ``/api/v3/time``
answers this clock, so a client that signs with it stays inside recvWindow.

A test that plays bars of its own, one at a time (the broker contract plays Cerebro's), sets the
price orders trade at with ``trade_at``; the bars, the klines and the clock then stay as they are.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Sequence

from trading.core.types import Bar

INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "1d": 86_400_000}
FREEZE_BEFORE_CLOSE_MS = 1_000


def price_text(value: float) -> str:
    """Binance's 8-decimal text when it round-trips, the exact repr otherwise."""
    text = f"{value:.8f}"
    return text if float(text) == value else repr(float(value))


def forming_index(bars: Sequence[Bar], ts: float) -> int:
    """The index of the first of ``bars`` at or after ``ts``: a basket's other market forms it
    while the first market forms its bar of time ``ts``."""
    for i, bar in enumerate(bars):
        if bar.ts >= ts:
            return i
    raise ValueError(f"no bar at or after {ts} among the {len(bars)} bars")


class FakeMarket:
    def __init__(self, bars: Sequence[Bar], symbol: str, interval: str, history: int) -> None:
        if not 0 < history < len(bars):
            raise ValueError(f"history must be within the {len(bars)} bars, got {history}")
        self.bars = list(bars)
        self.symbol = symbol
        self.interval = interval
        self.step = INTERVAL_MS[interval]
        self.cursor = history  # the forming bar
        self._traded_at: float | None = None  # set by trade_at: the price, whatever the bars say
        self._since = time.monotonic()
        self._moves: deque[tuple[float, int]] = deque([(self._since, self.cursor)], maxlen=10_000)

    # -- the clock ---------------------------------------------------------------------------
    def open_ms(self, index: int) -> int:
        return int(round(self.bars[index].ts * 1000))

    def now_ms(self) -> int:
        return self._clock(self.cursor, self._since, time.monotonic())

    def _clock(self, cursor: int, since: float, at: float) -> int:
        start = self.open_ms(cursor)
        elapsed = int((at - since) * 1000)
        return min(start + self.step // 2 + elapsed, start + self.step - FREEZE_BEFORE_CLOSE_MS)

    def was_ms(self, seconds_ago: float) -> int:
        """What the clock said ``seconds_ago`` (wall time): the market moves faster than the wall
        clock here, so a request signed a moment ago is judged by the clock it was signed by."""
        at = time.monotonic() - seconds_ago
        earlier = [(since, cursor) for since, cursor in self._moves if since <= at]
        since, cursor = earlier[-1] if earlier else self._moves[0]
        return self._clock(cursor, since, max(at, since))

    @property
    def price(self) -> float:
        """The current price: the forming bar's open (or the price set by ``trade_at``)."""
        if self._traded_at is not None:
            return self._traded_at
        return self.bars[self.cursor].open

    def trade_at(self, price: float) -> None:
        """Trade at ``price`` from now on (market orders, the ticker), whatever the bars say."""
        self._traded_at = price

    @property
    def can_advance(self) -> bool:
        return self.cursor < len(self.bars) - 1

    def advance(self) -> Bar:
        """Close the forming bar (returned) and start the next one."""
        closed = self.bars[self.cursor]
        self.cursor += 1
        self._since = time.monotonic()
        self._moves.append((self._since, self.cursor))
        return closed

    # -- wire formats ------------------------------------------------------------------------
    def _forming(self, index: int) -> bool:
        return index == self.cursor

    def _values(self, index: int) -> tuple[float, float, float, float, float]:
        bar = self.bars[index]
        if self._forming(index):
            return bar.open, bar.open, bar.open, bar.open, 0.0
        return bar.open, bar.high, bar.low, bar.close, bar.volume

    def row(self, index: int) -> list[Any]:
        o, h, l, c, v = self._values(index)
        opened = self.open_ms(index)
        return [opened, price_text(o), price_text(h), price_text(l), price_text(c), price_text(v),
                opened + self.step - 1, price_text(v * c), 10, price_text(v / 2),
                price_text(v * c / 2), "0"]

    def event(self, index: int) -> dict[str, Any]:
        o, h, l, c, v = self._values(index)
        opened = self.open_ms(index)
        return {"e": "kline", "E": self.now_ms(), "s": self.symbol, "k": {
            "t": opened, "T": opened + self.step - 1, "s": self.symbol, "i": self.interval,
            "f": 100, "L": 200, "o": price_text(o), "c": price_text(c), "h": price_text(h),
            "l": price_text(l), "v": price_text(v), "n": 10, "x": not self._forming(index),
            "q": price_text(v * c), "V": price_text(v / 2), "Q": price_text(v * c / 2), "B": "0"}}

    def klines(self, start: int | None, end: int | None, limit: int) -> list[list[Any]]:
        """``/api/v3/klines``: bars up to the forming one, by open time, at most ``limit``."""
        indices = [i for i in range(self.cursor + 1)
                   if (start is None or self.open_ms(i) >= start)
                   and (end is None or self.open_ms(i) <= end)]
        indices = indices[:limit] if start is not None else indices[-limit:]
        return [self.row(i) for i in indices]

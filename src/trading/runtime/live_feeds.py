"""The live bot's Backtrader feeds: one per symbol, fed by the bar source through one sink.

A one-symbol bot has one ``LiveFeed`` reading the sink itself; a basket has one per symbol and a
``BasketClock`` that groups their bars into time steps (``feeds.basket_clock``). How long a
step waits for late bars is ``data.align_seconds``, else the source's own wait (a venue's
declaration); a source that marks its steps complete (the file source) never needs the timer.
"""
from __future__ import annotations

from typing import Any, Callable

from feeds.basket_clock import BasketClock
from feeds.live import BarSink, LiveFeed
from trading.core.settings import DataConfig


def align_seconds(data: DataConfig, source: Any, default: float | None) -> float:
    """How long a basket's step waits for its other bars: the config's, else the venue's
    (``default``); 0 (no timer) for a source that marks its steps complete (the file source)."""
    if getattr(source, "in_time_order", False):
        return 0.0
    if data.align_seconds is not None:
        return data.align_seconds
    return default or 0.0


def live_feeds(sink: BarSink, data: DataConfig, source: Any, *, align: float,
               on_invalid: Callable[[str], None], on_status: Callable[[str], None]
               ) -> tuple[list[LiveFeed], BasketClock | None]:
    """The feeds, one per symbol in the basket's order, and the clock of a basket (None for
    one symbol). Only the first feed reports data states (they are the source's, not a
    symbol's)."""
    symbols = data.symbols
    clock = (BasketClock(sink, symbols, data.interval_seconds, align,
                         in_order=bool(getattr(source, "in_time_order", False)))
             if len(symbols) > 1 else None)
    feeds = [LiveFeed(sink=sink, interval_seconds=data.interval_seconds, on_invalid=on_invalid,
                      on_status=on_status if i == 0 else None, clock=clock, name=symbol,
                      market_closes=bool(getattr(source, "market_closes", False)),
                      live_name=getattr(source, "live_state_name", "LIVE"))
             for i, symbol in enumerate(symbols)]
    return feeds, clock

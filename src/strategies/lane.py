"""One symbol of a strategy: its data feed, its mixins and indicators, and its position.

A bot trading a basket runs one ``Lane`` per symbol inside one CustomStrategy: each has its own
streaming indicators and mixin instances (so a mixin never sees another symbol's bars), its own
open trade, protective orders and market order in flight. A one-symbol bot has one lane.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import backtrader as bt

from strategies.indicators import IndicatorSet
from strategies.mixins.base import EntryMixin, ExitMixin
from trading.core.timeutil import bt_number_to_epoch
from trading.core.types import Bar, OpenTrade, PendingOrder


@dataclass
class SymbolSetup:
    """What one symbol of a basket brings: fresh mixins, their indicators and what a restart
    restored for it."""

    symbol: str
    entry: EntryMixin
    exits: tuple[ExitMixin, ...]
    restored_trade: OpenTrade | None = None
    restored_orders: tuple[PendingOrder, ...] = ()
    indicators: IndicatorSet = field(default_factory=IndicatorSet)


class Lane:
    """The per-symbol state CustomStrategy keeps (see the module docstring)."""

    def __init__(self, setup: SymbolSetup, data: Any, tag: str) -> None:
        self.symbol = setup.symbol
        self.tag = tag  # the symbol's part of its order ids ("" in a one-symbol bot)
        self.data = data
        self.ind = setup.indicators
        self.entry = setup.entry
        self.exits = setup.exits
        self.entry.init(self.ind)
        for x in self.exits:
            x.init(self.ind)
        self.trade: OpenTrade | None = setup.restored_trade
        self.restored_orders = setup.restored_orders
        self.restore_pending = bool(setup.restored_trade or setup.restored_orders)
        self.protective: list[bt.Order] = []
        self.in_flight: bt.Order | None = None  # the one market order (entry or exit) pending
        self.in_flight_purpose = ""
        self.exit_reason = ""
        self.seen = 0  # bars of this symbol's data the strategy has stepped through
        self._fast_bar = hasattr(data, "current_bar")
        self._is_warmup: Callable[[], bool] | None = getattr(data, "is_warmup", None)
        self._is_last_warmup: Callable[[], bool] | None = getattr(data, "is_last_warmup", None)

    def fresh(self) -> bool:
        """Whether the data delivered a bar since the last step (in a basket a symbol's bar can
        be missing at a step: that symbol then gets no decision)."""
        n = len(self.data)
        if n == self.seen:
            return False
        self.seen = n
        return True

    def bar(self) -> Bar:
        if self._fast_bar:
            return self.data.current_bar()
        d = self.data
        return Bar(bt_number_to_epoch(d.datetime[0]), d.open[0], d.high[0], d.low[0], d.close[0],
                   d.volume[0])

    def warmup(self) -> bool:
        check = self._is_warmup
        return bool(check()) if check else False

    def last_warmup(self) -> bool:
        check = self._is_last_warmup
        return bool(check()) if check else False

    @property
    def holds_slot(self) -> bool:
        """An open position, or an entry on its way: it counts against max_positions."""
        return self.trade is not None or self.in_flight_purpose == "entry"

    def exposure(self) -> float:
        """The value the symbol's position holds now (an entry in flight at its ordered size)."""
        if self.trade is not None:
            return self.trade.size * self.data.close[0]
        if self.in_flight_purpose == "entry" and self.in_flight is not None:
            return abs(self.in_flight.created.size) * self.data.close[0]
        return 0.0

"""The small contracts between layers: what a strategy reports, and what it asks of risk.

``StrategyListener`` is implemented by whoever runs a strategy (replay collects, the live bot
checkpoints and notifies); ``RiskGate`` by ``trading.risk.RiskManager``. Both are called on the
Cerebro thread and must not block on I/O.
"""
from __future__ import annotations

from typing import Any, Protocol

from trading.core.events import OrderEvent, TradeClosed, TradeOpened
from trading.core.types import Bar, OpenTrade


class StrategyListener(Protocol):
    """Callbacks from CustomStrategy; called on the Cerebro thread, must not block on I/O."""

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None: ...

    def on_order(self, event: OrderEvent) -> None: ...

    def on_trade_opened(self, event: TradeOpened, trade: OpenTrade) -> None: ...

    def on_trade_closed(self, event: TradeClosed) -> None: ...

    def on_entry_refused(self, bar: Bar, rule: str, message: str) -> None: ...

    def on_bar_done(self, bar: Bar, positions: dict[str, OpenTrade], warmup: bool) -> None:
        """The bar (a basket's time step) is fully processed (fills, decisions, per-trade
        state): checkpoint here. ``positions``: every open position, by symbol."""

    def on_between_bars(self, positions: dict[str, OpenTrade]) -> None:
        """The broker reported between two bars (a live venue's fill): save what it changed."""


class NullListener:
    """A listener that ignores everything (the default)."""

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None:
        pass

    def on_order(self, event: OrderEvent) -> None:
        pass

    def on_trade_opened(self, event: TradeOpened, trade: OpenTrade) -> None:
        pass

    def on_trade_closed(self, event: TradeClosed) -> None:
        pass

    def on_entry_refused(self, bar: Bar, rule: str, message: str) -> None:
        pass

    def on_bar_done(self, bar: Bar, positions: dict[str, OpenTrade], warmup: bool) -> None:
        pass

    def on_between_bars(self, positions: dict[str, OpenTrade]) -> None:
        pass


class RiskGate(Protocol):
    """What the strategy asks and tells the risk manager (trading.risk.RiskManager)."""

    def on_bar(self, ts: float, equity: float) -> None: ...

    def allow_entry(self, ts: float, equity: float, exposure_value: float,
                    open_positions: int) -> Any: ...  # None, or a refusal with .rule and .message

    def on_order(self, ts: float) -> None: ...

    def on_entry_filled(self) -> None: ...

    def on_trade_closed(self, pnl: float) -> None: ...

    def on_error(self, ts: float) -> None: ...

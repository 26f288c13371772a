"""What a strategy reports to whoever runs it (replay collects; the live bot persists and notifies)."""
from __future__ import annotations

from typing import Protocol

from strategies.mixins.base import Bar, OpenTrade
from trading.events import OrderEvent, TradeClosed, TradeOpened


class StrategyListener(Protocol):
    """Callbacks from CustomStrategy; called on the Cerebro thread, must not block on I/O."""

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None: ...

    def on_order(self, event: OrderEvent) -> None: ...

    def on_trade_opened(self, event: TradeOpened, trade: OpenTrade) -> None: ...


    def on_trade_closed(self, event: TradeClosed) -> None: ...

    def on_entry_refused(self, bar: Bar, rule: str, message: str) -> None: ...

    def on_bar_done(self, bar: Bar, trade: OpenTrade | None, warmup: bool) -> None:
        """The bar is fully processed (fills, decisions, per-trade state): checkpoint here."""


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

    def on_bar_done(self, bar: Bar, trade: OpenTrade | None, warmup: bool) -> None:
        pass

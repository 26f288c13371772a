"""What the broker and the order gateway say to each other about Binance orders: intents going
out (``OrderIntent``, ``OcoIntent``), updates coming back (``OrderUpdate`` with ``VenueFill``s),
and the account as read at start-up (``AccountState``)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading.venues.binance.filters import SymbolRules


@dataclass(frozen=True)
class VenueFill:
    trade_id: int
    quantity: float
    price: float
    fee: float
    fee_asset: str
    fee_quote: float  # the fee's value in the quote currency
    fee_base: float  # the part of the fee taken from the base asset received (buys)
    time_ms: int = 0  # when it traded (Binance's clock)


@dataclass(frozen=True)
class OrderUpdate:
    """What changed for one order: its status now and the fills not reported before."""

    client_id: str
    status: str  # accepted | partial | filled | canceled | expired | rejected
    venue_order_id: str | None = None
    fills: tuple[VenueFill, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class OrderIntent:
    """A new order: ``kind`` MARKET, LIMIT or STOP_LOSS_LIMIT; quantities already on the grid."""

    client_id: str
    side: str  # BUY | SELL
    kind: str
    quantity: Decimal
    price: Decimal | None = None
    stop: Decimal | None = None

    def params(self, symbol: str) -> dict[str, Any]:
        params: dict[str, Any] = {"symbol": symbol, "side": self.side, "type": self.kind,
                                  "quantity": f"{self.quantity:f}", "newClientOrderId": self.client_id,
                                  "newOrderRespType": "FULL"}
        if self.kind != "MARKET":
            params.update(timeInForce="GTC", price=f"{self.price:f}")
        if self.stop is not None:
            params["stopPrice"] = f"{self.stop:f}"
        return params


@dataclass(frozen=True)
class OcoIntent:
    """A protective pair: a take-profit LIMIT_MAKER above and a STOP_LOSS_LIMIT below."""

    take_profit_id: str
    stop_loss_id: str
    quantity: Decimal
    take_profit: Decimal
    stop: Decimal
    stop_limit: Decimal

    def params(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "side": "SELL", "quantity": f"{self.quantity:f}",
                "listClientOrderId": f"{self.stop_loss_id}-oco", "aboveType": "LIMIT_MAKER",
                "aboveClientOrderId": self.take_profit_id, "abovePrice": f"{self.take_profit:f}",
                "belowType": "STOP_LOSS_LIMIT", "belowClientOrderId": self.stop_loss_id,
                "belowStopPrice": f"{self.stop:f}", "belowPrice": f"{self.stop_limit:f}",
                "belowTimeInForce": "GTC", "newOrderRespType": "FULL"}


@dataclass(frozen=True)
class AccountState:
    """The account as Binance reports it at start-up, for one symbol."""

    rules: SymbolRules
    base_total: float  # free + locked
    quote_free: float
    quote_locked: float
    price: float
    open_orders: tuple[dict[str, Any], ...]
    time_ms: int = 0  # the balances include every fill up to this time

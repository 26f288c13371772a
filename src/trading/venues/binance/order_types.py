"""What the broker sends the order gateway for Binance: intents going out (``OrderIntent``,
``OcoIntent``), in Binance's own words. What comes back is the kernel's
(``trading.core.reports``)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class OrderIntent:
    """A new order: ``kind`` MARKET, LIMIT or STOP_LOSS_LIMIT; quantities already on the grid;
    ``symbol`` the one it trades (empty: the gateway's first)."""

    client_id: str
    side: str  # BUY | SELL
    kind: str
    quantity: Decimal
    price: Decimal | None = None
    stop: Decimal | None = None
    symbol: str = ""

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
    """A protective pair: a take-profit LIMIT_MAKER above and a STOP_LOSS_LIMIT below, on
    ``symbol`` (empty: the gateway's first)."""

    take_profit_id: str
    stop_loss_id: str
    quantity: Decimal
    take_profit: Decimal
    stop: Decimal
    stop_limit: Decimal
    symbol: str = ""

    def params(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "side": "SELL", "quantity": f"{self.quantity:f}",
                "listClientOrderId": f"{self.stop_loss_id}-oco", "aboveType": "LIMIT_MAKER",
                "aboveClientOrderId": self.take_profit_id, "abovePrice": f"{self.take_profit:f}",
                "belowType": "STOP_LOSS_LIMIT", "belowClientOrderId": self.stop_loss_id,
                "belowStopPrice": f"{self.stop:f}", "belowPrice": f"{self.stop_limit:f}",
                "belowTimeInForce": "GTC", "newOrderRespType": "FULL"}

"""A symbol's trading rules from ``exchangeInfo``: quantities and prices rounded to LOT_SIZE and
PRICE_FILTER, orders under MIN_NOTIONAL / NOTIONAL refused before they are sent."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Mapping

from trading.core.errors import OrderRejected, VenueError


@dataclass(frozen=True)
class SymbolRules:
    symbol: str
    base: str
    quote: str
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    tick: Decimal
    min_notional: Decimal

    @classmethod
    def from_exchange_info(cls, info: Mapping[str, Any], symbol: str) -> "SymbolRules":
        """The rules of ``symbol`` in an ``exchangeInfo`` answer; VenueError when it is unknown."""
        entry = next((s for s in info.get("symbols", ()) if s.get("symbol") == symbol), None)
        if entry is None:
            raise VenueError(f"Binance does not list the symbol {symbol}; check trading.symbol "
                             "(e.g. BTCUSDT, as Binance spells it)")
        filters = {f["filterType"]: f for f in entry.get("filters", ())}
        lot, price = filters.get("LOT_SIZE", {}), filters.get("PRICE_FILTER", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        return cls(symbol=symbol, base=entry["baseAsset"], quote=entry["quoteAsset"],
                   step=Decimal(lot.get("stepSize", "0")), min_qty=Decimal(lot.get("minQty", "0")),
                   max_qty=Decimal(lot.get("maxQty", "0")) or Decimal("1e18"),
                   tick=Decimal(price.get("tickSize", "0")),
                   min_notional=Decimal(notional.get("minNotional", "0")))

    def quantity(self, size: float) -> Decimal:
        """``size`` rounded down to the lot step (never more than asked)."""
        value = Decimal(repr(abs(size)))
        if self.step > 0:
            value = (value / self.step).to_integral_value(ROUND_DOWN) * self.step
        return value.normalize() if value else Decimal(0)

    def price(self, price: float, up: bool = False) -> Decimal:
        """``price`` on the tick grid (down by default, ``up`` for the other side)."""
        value = Decimal(repr(price))
        if self.tick > 0:
            rounding = "ROUND_UP" if up else ROUND_DOWN
            value = (value / self.tick).to_integral_value(rounding) * self.tick
        return value.normalize()

    def check(self, quantity: Decimal, price: float) -> None:
        """Refuse an order Binance would reject for its size (OrderRejected with the reason)."""
        if quantity <= 0 or quantity < self.min_qty:
            raise OrderRejected(f"quantity {quantity} {self.base} is below Binance's minimum "
                                f"{self.min_qty} for {self.symbol} (LOT_SIZE)")
        if quantity > self.max_qty:
            raise OrderRejected(f"quantity {quantity} {self.base} is above Binance's maximum "
                                f"{self.max_qty} for {self.symbol} (LOT_SIZE)")
        notional = quantity * Decimal(repr(price))
        if notional < self.min_notional:
            raise OrderRejected(f"order value {notional:.8f} {self.quote} is below Binance's "
                                f"minimum notional {self.min_notional} {self.quote} for "
                                f"{self.symbol} (MIN_NOTIONAL); nothing was sent")

    def dust(self, quantity: float, price: float) -> bool:
        """True for a balance too small to sell (under a step, or under the minimum notional)."""
        qty = self.quantity(quantity)
        return qty < max(self.min_qty, self.step) or qty * Decimal(repr(price)) < self.min_notional

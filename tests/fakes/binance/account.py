"""The fake's account: balances, orders and their matching against the bars, with Binance's
filters, fees and execution reports.

Matching: a MARKET order (or a LIMIT that crosses) fills at the current price, the forming bar's
open. Resting orders are matched against each bar as it closes, the way Backtrader's broker fills
them: a LIMIT at its price (or the open when the bar opens through it), a STOP_LOSS_LIMIT sell
triggers when the low reaches its stop and fills at the stop (or the open when the bar gaps below
it, unless that is under its limit). An OCO's second order expires when the first fills.
``split_fills`` > 1 delivers each fill in that many trades, the first at once and one more per
closed bar, all at the same price.

Fees: ``fee_rate`` of each trade's value. By default they are charged as Binance charges them, in
the asset received: the base asset on buys (the position a buy opens is smaller than its
quantity), the quote asset on sells. With ``bnb_price`` set the account pays its fees with BNB, as
a Binance account with "use BNB to pay for fees" on does: every fee, buy or sell, is its value in
the quote asset divided by ``bnb_price`` (BNB's price in the quote asset), to 8 decimals, taken from
the BNB balance (without Binance's BNB discount: the rate is ``fee_rate`` either way); a trade the
BNB balance cannot pay for is charged in the asset received, as on Binance.

One account may trade several symbols (a basket, ``Listing``s beside the first symbol): one set
of balances, each order on its symbol with that symbol's assets and filters, each bar matched
against its own symbol's orders.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading.core.types import Bar

D0 = Decimal(0)
FEE_DECIMALS = Decimal("0.00000001")


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass(frozen=True)
class Filters:
    tick: Decimal = Decimal("0.000001")
    step: Decimal = Decimal("0.001")
    min_qty: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("100000")
    min_notional: Decimal = Decimal("0.0001")

    def exchange_info(self) -> list[dict[str, Any]]:
        return [
            {"filterType": "PRICE_FILTER", "minPrice": str(self.tick), "maxPrice": "100000.00000000",
             "tickSize": str(self.tick)},
            {"filterType": "LOT_SIZE", "minQty": str(self.min_qty), "maxQty": str(self.max_qty),
             "stepSize": str(self.step)},
            {"filterType": "NOTIONAL", "minNotional": str(self.min_notional),
             "applyMinToMarket": True, "maxNotional": "9000000.00000000",
             "applyMaxToMarket": False, "avgPriceMins": 5},
        ]


@dataclass(frozen=True)
class Listing:
    """A symbol the account trades besides its first: its assets and its filters."""

    symbol: str
    base: str
    quote: str
    filters: Filters = Filters()


def dec(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception:
        raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                       "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None


@dataclass
class FakeOrder:
    order_id: int
    client_id: str
    side: str
    type: str
    qty: Decimal
    price: Decimal | None
    stop: Decimal | None
    created: int
    list_id: int = -1
    status: str = "NEW"
    executed: Decimal = D0
    quote: Decimal = D0
    updated: int = 0
    reserved: Decimal = D0  # quote (buys) or base (sells) locked for it
    unit_cost: Decimal = D0  # quote locked per unit (buys)
    owed: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # split fills to come
    partner: "FakeOrder | None" = None
    symbol: str = ""

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def to_json(self, symbol: str | None = None) -> dict[str, Any]:
        return {"symbol": symbol or self.symbol, "orderId": self.order_id,
                "orderListId": self.list_id,
                "clientOrderId": self.client_id, "price": str(self.price or "0.00000000"),
                "origQty": str(self.qty), "executedQty": str(self.executed),
                "cummulativeQuoteQty": str(self.quote), "status": self.status,
                "timeInForce": "GTC", "type": self.type, "side": self.side,
                "stopPrice": str(self.stop or "0.00000000"), "icebergQty": "0.00000000",
                "time": self.created, "updateTime": self.updated or self.created,
                "isWorking": self.type != "STOP_LOSS_LIMIT" or self.executed > 0,
                "workingTime": self.created, "origQuoteOrderQty": "0.00000000",
                "selfTradePreventionMode": "NONE"}


class FakeAccount:
    """One account trading one symbol, or a basket (``more``: the other symbols' listings)."""

    def __init__(self, symbol: str, base: str, quote: str, balances: dict[str, float],
                 filters: Filters, fee_rate: float = 0.001, split_fills: int = 1,
                 bnb_price: float | None = None, more: tuple[Listing, ...] = ()) -> None:
        self.symbol, self.base, self.quote = symbol, base, quote
        self.free = {a: Decimal(str(v)) for a, v in balances.items()}
        self.locked: dict[str, Decimal] = {}
        self.filters = filters
        self.listings = {symbol: Listing(symbol, base, quote, filters),
                         **{listing.symbol: listing for listing in more}}
        self.more = tuple(more)
        self.fee_rate = Decimal(str(fee_rate))
        self.bnb_price = Decimal(str(bnb_price)) if bnb_price is not None else None
        self.split_fills = split_fills
        self.orders: dict[int, FakeOrder] = {}
        self.trades: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(5000)
        self._list_ids = itertools.count(1)

    # -- balances ----------------------------------------------------------------------------
    def _move(self, asset: str, free: Decimal = D0, locked: Decimal = D0) -> None:
        self.free[asset] = self.free.get(asset, D0) + free
        self.locked[asset] = self.locked.get(asset, D0) + locked

    def balances(self) -> list[dict[str, str]]:
        assets = sorted(set(self.free) | set(self.locked))
        return [{"asset": a, "free": str(self.free.get(a, D0)), "locked": str(self.locked.get(a, D0))}
                for a in assets]

    # -- lookups -----------------------------------------------------------------------------
    def listing(self, symbol: str | None) -> Listing:
        """The listing of ``symbol`` (ApiError -1121 for one the account does not trade)."""
        found = self.listings.get(symbol or "")
        if found is None:
            raise ApiError(-1121, "Invalid symbol.")
        return found

    def find(self, order_id: Any = None, client_id: str | None = None,
             symbol: str | None = None) -> FakeOrder:
        """An order by id or client id (on ``symbol`` when given)."""
        for order in reversed(list(self.orders.values())):
            if symbol is not None and order.symbol != symbol:
                continue
            if (order_id is not None and order.order_id == int(order_id)) or \
                    (client_id is not None and order.client_id == client_id):
                return order
        raise ApiError(-2013, "Order does not exist.")

    def open_orders(self, symbol: str | None = None) -> list[FakeOrder]:
        """Every open order, or ``symbol``'s."""
        return [o for o in self.orders.values() if o.open and symbol in (None, o.symbol)]

    # -- placing -----------------------------------------------------------------------------
    def _check(self, side: str, qty: Decimal, price: Decimal | None, stop: Decimal | None,
               market_price: float, f: Filters) -> None:
        if qty < f.min_qty or qty > f.max_qty or (qty - f.min_qty) % f.step:
            raise ApiError(-1013, "Filter failure: LOT_SIZE")
        for value in (price, stop):
            if value is not None and (value <= 0 or value % f.tick):
                raise ApiError(-1013, "Filter failure: PRICE_FILTER")
        if qty * (price if price is not None else Decimal(str(market_price))) < f.min_notional:
            raise ApiError(-1013, "Filter failure: NOTIONAL")
        if side not in ("BUY", "SELL"):
            raise ApiError(-1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.")

    def _reserve(self, order: FakeOrder, market_price: float) -> None:
        listing = self.listings[order.symbol]
        if order.side == "BUY":
            unit = order.price if order.price is not None else Decimal(str(market_price))
            cost = order.qty * unit
            if self.free.get(listing.quote, D0) < cost:
                raise ApiError(-2010, "Account has insufficient balance for requested action.")
            self._move(listing.quote, -cost, cost)
            order.reserved, order.unit_cost = cost, unit
        else:
            if self.free.get(listing.base, D0) < order.qty:
                raise ApiError(-2010, "Account has insufficient balance for requested action.")
            self._move(listing.base, -order.qty, order.qty)
            order.reserved = order.qty

    def _new(self, symbol: str, client_id: str, side: str, kind: str, qty: Decimal,
             price: Decimal | None, stop: Decimal | None, now: int,
             list_id: int = -1) -> FakeOrder:
        if any(o.client_id == client_id for o in self.open_orders(symbol)):
            raise ApiError(-2010, "Duplicate order sent.")
        return FakeOrder(next(self._ids), client_id, side, kind, qty, price, stop, now,
                         list_id=list_id, updated=now, symbol=symbol)

    def place(self, params: dict[str, str], market_price: float, now: int
              ) -> tuple[FakeOrder, list[dict[str, Any]]]:
        kind = params.get("type", "")
        if kind not in ("MARKET", "LIMIT", "STOP_LOSS_LIMIT", "LIMIT_MAKER"):
            raise ApiError(-1116, "Invalid orderType.")
        listing = self.listing(params.get("symbol"))
        qty = dec(params.get("quantity"), "quantity")
        price = dec(params["price"], "price") if "price" in params else None
        stop = dec(params["stopPrice"], "stopPrice") if "stopPrice" in params else None
        if kind != "MARKET" and price is None:
            raise ApiError(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        side = params.get("side", "")
        self._check(side, qty, price, stop, market_price, listing.filters)
        order = self._new(listing.symbol, params.get("newClientOrderId") or
                          f"fake-{next(self._ids)}", side, kind, qty, price, stop, now)
        self._reserve(order, market_price)
        self.orders[order.order_id] = order
        reports = [self.report(order, "NEW", now)]
        crosses = kind == "MARKET" or (kind in ("LIMIT",) and (
            (side == "BUY" and price >= Decimal(str(market_price))) or
            (side == "SELL" and price <= Decimal(str(market_price)))))
        if crosses:
            reports += self._fill(order, order.qty, Decimal(str(market_price)), now)
        return order, reports

    def place_oco(self, params: dict[str, str], market_price: float, now: int
                  ) -> tuple[list[FakeOrder], list[dict[str, Any]]]:
        if params.get("side") != "SELL" or params.get("aboveType") != "LIMIT_MAKER" or \
                params.get("belowType") != "STOP_LOSS_LIMIT":
            raise ApiError(-1106, "This fake takes SELL OCOs of LIMIT_MAKER above and "
                           "STOP_LOSS_LIMIT below only.")
        listing = self.listing(params.get("symbol"))
        qty = dec(params.get("quantity"), "quantity")
        above = dec(params.get("abovePrice"), "abovePrice")
        below_stop = dec(params.get("belowStopPrice"), "belowStopPrice")
        below = dec(params.get("belowPrice"), "belowPrice")
        self._check("SELL", qty, above, None, market_price, listing.filters)
        self._check("SELL", qty, below, below_stop, market_price, listing.filters)
        if self.free.get(listing.base, D0) < qty:
            raise ApiError(-2010, "Account has insufficient balance for requested action.")
        list_id = next(self._list_ids)
        tp = self._new(listing.symbol, params.get("aboveClientOrderId") or f"fake-{list_id}-a",
                       "SELL", "LIMIT_MAKER", qty, above, None, now, list_id)
        sl = self._new(listing.symbol, params.get("belowClientOrderId") or f"fake-{list_id}-b",
                       "SELL", "STOP_LOSS_LIMIT", qty, below, below_stop, now, list_id)
        self._move(listing.base, -qty, qty)
        sl.reserved = qty  # one reservation for the pair, held by the stop
        tp.partner, sl.partner = sl, tp
        for order in (sl, tp):
            self.orders[order.order_id] = order
        return [sl, tp], [self.report(sl, "NEW", now), self.report(tp, "NEW", now)]

    def cancel(self, order: FakeOrder, now: int, reason: str = "CANCELED") -> list[dict[str, Any]]:
        if not order.open:
            raise ApiError(-2011, "Unknown order sent.")
        reports = []
        for o in (order, order.partner):
            if o is not None and o.open:
                self._release(o)
                o.status, o.updated = reason, now
                reports.append(self.report(o, reason, now))
        return reports

    def _release(self, order: FakeOrder) -> None:
        holder = order if order.reserved or order.partner is None else order.partner
        left = holder.reserved
        if left:
            listing = self.listings[holder.symbol]
            asset = listing.quote if holder.side == "BUY" else listing.base
            self._move(asset, left, -left)
            holder.reserved = D0

    # -- filling -----------------------------------------------------------------------------
    def _fill(self, order: FakeOrder, qty: Decimal, price: Decimal, now: int) -> list[dict[str, Any]]:
        parts = max(1, self.split_fills)
        step = self.listings[order.symbol].filters.step
        first = (qty / parts // step) * step if parts > 1 else qty
        if first <= 0:
            first = qty
        reports = self._trade(order, first, price, now)
        rest = qty - first
        if rest > 0:
            chunk = (rest / (parts - 1) // step) * step or rest
            while rest > 0:
                part = min(chunk, rest)
                order.owed.append((part, price))
                rest -= part
        return reports

    def _trade(self, order: FakeOrder, qty: Decimal, price: Decimal, now: int) -> list[dict[str, Any]]:
        quote = qty * price
        listing = self.listings[order.symbol]
        holder = order if order.partner is None or order.reserved else order.partner
        fee, fee_asset = self._fee(listing, order.side, qty, quote)
        if order.side == "BUY":
            reserved = qty * order.unit_cost
            self._move(listing.quote, reserved - quote, -reserved)
            holder.reserved -= reserved
            self._move(listing.base, qty)
        else:
            self._move(listing.base, D0, -qty)
            holder.reserved -= qty
            self._move(listing.quote, quote)
        self._move(fee_asset, -fee)
        order.executed += qty
        order.quote += quote
        order.updated = now
        done = order.executed >= order.qty
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        trade = {"symbol": order.symbol, "id": next(self._trade_ids), "orderId": order.order_id,
                 "orderListId": order.list_id, "price": str(price), "qty": str(qty),
                 "quoteQty": str(quote), "commission": str(fee), "commissionAsset": fee_asset,
                 "time": now, "isBuyer": order.side == "BUY", "isMaker": order.type != "MARKET",
                 "isBestMatch": True}
        self.trades.append(trade)
        reports = [self.report(order, "TRADE", now, trade)]
        if done and order.partner is not None and order.partner.open:
            partner = order.partner
            partner.status, partner.updated = "EXPIRED", now
            reports.append(self.report(partner, "EXPIRED", now))
        return reports

    def _fee(self, listing: Listing, side: str, qty: Decimal,
             quote: Decimal) -> tuple[Decimal, str]:
        """A trade's fee and the asset it is charged in (module docstring)."""
        if self.bnb_price is not None:
            fee = (quote * self.fee_rate / self.bnb_price).quantize(FEE_DECIMALS)
            if self.free.get("BNB", D0) >= fee:
                return fee, "BNB"
        if side == "BUY":
            return qty * self.fee_rate, listing.base
        return quote * self.fee_rate, listing.quote

    def on_bar(self, bar: Bar, now: int, symbol: str | None = None) -> list[dict[str, Any]]:
        """Match the open orders of ``symbol`` (the first's by default) against its bar that
        just closed; deliver owed split fills."""
        reports: list[dict[str, Any]] = []
        for order in list(self.open_orders(symbol or self.symbol)):
            if order.owed:
                qty, price = order.owed.pop(0)
                reports += self._trade(order, qty, price, now)
                continue
            price = self._touch(order, bar)
            if price is not None and order.open:
                reports += self._fill(order, order.qty - order.executed, price, now)
        return reports

    @staticmethod
    def _touch(order: FakeOrder, bar: Bar) -> Decimal | None:
        o, h, l = (Decimal(str(v)) for v in (bar.open, bar.high, bar.low))
        p = order.price
        if order.type in ("LIMIT", "LIMIT_MAKER") and p is not None:
            if order.side == "SELL" and h >= p:
                return max(p, o)
            if order.side == "BUY" and l <= p:
                return min(p, o)
        if order.type == "STOP_LOSS_LIMIT" and order.stop is not None and order.side == "SELL":
            if l <= order.stop:
                fill = min(order.stop, o)
                if p is not None and fill < p:
                    return p if h >= p else None
                return fill
        return None

    # -- execution reports -------------------------------------------------------------------
    def report(self, order: FakeOrder, exec_type: str, now: int,
               trade: dict[str, Any] | None = None) -> dict[str, Any]:
        canceled = exec_type in ("CANCELED",)
        return {"e": "executionReport", "E": now, "s": order.symbol,
                "c": f"cancel-{order.order_id}" if canceled else order.client_id,
                "S": order.side, "o": order.type, "f": "GTC", "q": str(order.qty),
                "p": str(order.price or "0.00000000"), "P": str(order.stop or "0.00000000"),
                "F": "0.00000000", "g": order.list_id, "C": order.client_id if canceled else "",
                "x": exec_type, "X": order.status, "r": "NONE", "i": order.order_id,
                "l": trade["qty"] if trade else "0.00000000",
                "z": str(order.executed), "L": trade["price"] if trade else "0.00000000",
                "n": trade["commission"] if trade else "0", "N": trade["commissionAsset"] if trade else None,
                "T": now, "t": trade["id"] if trade else -1, "I": 1, "w": order.open,
                "m": bool(trade and trade["isMaker"]), "M": False, "O": order.created,
                "Z": str(order.quote), "Y": trade["quoteQty"] if trade else "0.00000000",
                "Q": "0.00000000", "W": order.created, "V": "NONE"}

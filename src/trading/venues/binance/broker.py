"""BinanceBroker: a Backtrader broker whose orders go to Binance Spot (or its testnet).

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's ``OrderGateway`` on the I/O thread and return; what Binance answers (accepted, partial,
filled, canceled, rejected) comes back through the gateway's queue, which ``next()`` drains
(Cerebro calls it on every loop, also while no bar arrives) into Backtrader order notifications.
CustomStrategy, risk, store and journal see exactly what they see with the paper broker.

- Cash and positions are the account's: the free quote balance, and each symbol's base balance
  (free + locked); ``initial_balance`` does not apply. A basket's symbols share the quote asset
  (one cash). Fills move them as Binance reports them (``VenueBroker`` books them on the
  order's symbol; the start-up reconciliation is the shared one).
- Orders go out once the bot has saved them (``transmit_held``, see ``VenueBroker``): market
  orders with the strategy's deterministic client order id as ``newClientOrderId``; the
  protective stop and take-profit placed together become one OCO order list (two sell orders
  would each lock the whole position on Spot).
- Quantities are rounded down to the order's symbol's LOT_SIZE, prices to its PRICE_FILTER; an
  order under that symbol's minimum notional is rejected here, with the reason, and nothing is
  sent.
- A buy's fee charged in the base asset shrinks the position it opens; the order reports the net
  size and the fee's value in the quote currency as its commission.
- The trailing stop is not a Binance order in this version: a config with one is refused.
"""
from __future__ import annotations

import logging
from decimal import Decimal

import backtrader as bt

from brokers.venue_broker import LiveOrder, VenueBroker, linked
from trading.core.errors import OrderRejected
from trading.venues.binance.filters import SymbolRules
from trading.venues.binance.order_types import OcoIntent, OrderIntent
from trading.venues.binance.orders import OrderGateway

log = logging.getLogger(__name__)

STOP_LIMIT_SLACK = 0.02  # a stop's limit price sits this far below its trigger (fills like a stop)


class BinanceBroker(VenueBroker):
    """See the module docstring. ``BinanceBroker(venue=..., symbols=("ETHBTC",))``."""

    VENUE = "Binance"

    def _gateway(self) -> OrderGateway:
        return OrderGateway(self.venue, self.p.symbols)

    def _rules(self, order: bt.Order) -> SymbolRules:
        """The exchange's rules of the symbol ``order`` trades (read at start-up)."""
        self._accounts()
        return self.gateway.rules[self._symbol_of(order.data)]

    # -- orders from the strategy --------------------------------------------------------------
    def _refusal(self, order: bt.Order) -> str | None:
        if order.exectype in (None, bt.Order.Market) or (
                order.exectype in (bt.Order.Stop, bt.Order.Limit) and order.issell()):
            return None
        return ("this broker sends market orders, and stop and limit sells (protective "
                "orders); a trailing stop or a stop/limit buy is not supported on Binance by "
                "this version")

    def _send_held(self, orders: list[bt.Order]) -> None:
        """Market orders one by one; the protective ones together, a stop and its take-profit
        as one OCO list (two sell orders would each lock the whole position on Spot)."""
        protective = [o for o in orders if o.exectype in (bt.Order.Stop, bt.Order.Limit)]
        for order in orders:
            if order not in protective:
                self._send(order)
        if protective:
            self._send_protective(protective)

    def _quantity(self, order: bt.Order, price: float) -> Decimal | None:
        rules = self._rules(order)
        size = abs(order.created.size)
        if order.info.client_order_id in self.gateway.look_up_first:
            # sent before a restart: the exchange's copy decides, whatever the balance says now
            return rules.quantity(size) or rules.step
        if order.issell():
            size = min(size, self.positions[order.data].size)
        quantity = rules.quantity(size)
        try:
            rules.check(quantity, price)
        except OrderRejected as exc:
            self._reject(order, str(exc))
            return None
        return quantity

    def _send(self, order: bt.Order) -> None:
        data = order.data
        symbol = self._symbol_of(data)
        price = data.close[0] if len(data) else self._account(symbol).price
        quantity = self._quantity(order, price)
        if quantity is None:
            return
        client_id = order.info.client_order_id
        self._live[client_id] = LiveOrder(order, client_id)
        intent = OrderIntent(client_id, "BUY" if order.isbuy() else "SELL", "MARKET", quantity,
                             symbol=symbol)
        self._hand_over(self.gateway.place(intent), f"order {client_id}")

    def _send_protective(self, orders: list[bt.Order]) -> None:
        """Protective sells: a stop and its take-profit (OCO partners) as one order list, on
        their symbol."""
        by_ref = {o.ref: o for o in orders}
        sent: set[int] = set()
        for order in orders:
            if order.ref in sent:
                continue
            partner = self._oco_partner(order, by_ref)
            rules, symbol = self._rules(order), self._symbol_of(order.data)
            if partner is not None:
                stop, limit = (order, partner) if order.exectype == bt.Order.Stop else (partner, order)
                quantity = self._quantity(stop, stop.created.price)
                sent.update((order.ref, partner.ref))
                if quantity is None:
                    self._reject(limit, "its OCO partner was rejected")
                    continue
                for o in (stop, limit):
                    self._live[o.info.client_order_id] = LiveOrder(o, o.info.client_order_id)
                intent = OcoIntent(take_profit_id=limit.info.client_order_id,
                                   stop_loss_id=stop.info.client_order_id, quantity=quantity,
                                   take_profit=rules.price(limit.created.price, up=True),
                                   stop=rules.price(stop.created.price),
                                   stop_limit=rules.price(
                                       stop.created.price * (1 - STOP_LIMIT_SLACK)),
                                   symbol=symbol)
                self._hand_over(self.gateway.place_oco(intent), f"OCO {stop.ref}")
                continue
            sent.add(order.ref)
            quantity = self._quantity(order, order.created.price)
            if quantity is None:
                continue
            cid = order.info.client_order_id
            self._live[cid] = LiveOrder(order, cid)
            if order.exectype == bt.Order.Stop:
                intent = OrderIntent(cid, "SELL", "STOP_LOSS_LIMIT", quantity,
                                     price=rules.price(order.created.price * (1 - STOP_LIMIT_SLACK)),
                                     stop=rules.price(order.created.price), symbol=symbol)
            else:
                intent = OrderIntent(cid, "SELL", "LIMIT", quantity,
                                     price=rules.price(order.created.price, up=True),
                                     symbol=symbol)
            self._hand_over(self.gateway.place(intent), f"order {cid}")

    @staticmethod
    def _oco_partner(order: bt.Order, by_ref: dict[int, bt.Order]) -> bt.Order | None:
        for other in by_ref.values():
            if other is not order and linked(order, other) and \
                    {order.exectype, other.exectype} == {bt.Order.Stop, bt.Order.Limit}:
                return other
        return None

    def _cancel_at_venue(self, order: bt.Order) -> bool:
        cid = order.info.client_order_id
        if cid in self._live and order.alive():
            self._hand_over(self.gateway.cancel(cid), f"cancel {cid}")
            return True
        return False

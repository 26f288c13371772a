"""BinanceBroker: a Backtrader broker whose orders go to Binance Spot (or its testnet).

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's ``OrderGateway`` on the I/O thread and return; what Binance answers (accepted, partial,
filled, canceled, rejected) comes back through the gateway's queue, which ``next()`` drains
(Cerebro calls it on every loop, also while no bar arrives) into Backtrader order notifications.
CustomStrategy, risk, store and journal see exactly what they see with the paper broker.

- Cash and position are the account's: free quote balance, and the base balance (free + locked)
  of the symbol; ``initial_balance`` does not apply. Fills move them as Binance reports them.
- Market orders go out at once with the strategy's deterministic client order id as
  ``newClientOrderId``. Stop and limit orders (the protective ones) are held until the strategy
  is done placing (``transmit_held``, which the bot's Cerebro loop calls right after), so a stop
  and a take-profit sent together become one OCO order list (two sell orders would each lock
  the whole position on Spot).
- Quantities are rounded down to LOT_SIZE, prices to PRICE_FILTER; an order under the symbol's
  minimum notional is rejected here, with the reason, and nothing is sent.
- A buy's fee charged in the base asset shrinks the position it opens; the order reports the net
  size and the fee's value in the quote currency as its commission.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import backtrader as bt
from backtrader.position import Position

from brokers.binance_reconcile import Reconciliation, protective_ids, reconcile_account
from brokers.venue_broker import LiveOrder, VenueBroker
from trading.core.errors import OrderRejected
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.binance.order_types import AccountState, OcoIntent, OrderIntent
from trading.venues.binance.orders import OrderGateway

log = logging.getLogger(__name__)

STOP_LIMIT_SLACK = 0.02  # a stop's limit price sits this far below its trigger (fills like a stop)


class BinanceBroker(VenueBroker):
    """See the module docstring. ``BinanceBroker(venue=..., symbol="ETHBTC")``."""

    params = (("symbol", ""),)
    VENUE = "Binance"

    def __init__(self) -> None:
        super().__init__()
        self.locked_quote = 0.0
        self._outbox: list[bt.Order] = []
        self.account: AccountState | None = None

    def _gateway(self) -> OrderGateway:
        return OrderGateway(self.venue, self.p.symbol)

    # -- start-up (Cerebro thread, before the first bar) ---------------------------------------
    def _account(self) -> AccountState:
        if self.account is None:
            self.account = self._wait(self.gateway.start(), "binance account")
        return self.account

    def reconcile(self, *, position: OpenTrade | None, pending: tuple[PendingOrder, ...],
                  order_prefix: str = "") -> Reconciliation:
        """Compare the saved position and pending orders with the account; the account wins.

        ``order_prefix`` (the bot id) names the open position's protective orders."""
        account = self._account()

        def lookup(client_id: str) -> dict[str, Any] | None:
            return self._wait(self.gateway.lookup(client_id), f"lookup {client_id}")

        result = reconcile_account(account, position, pending, lookup, order_prefix)
        # re-sent after the restart: looked up first (open orders on the exchange already are)
        self.gateway.look_up_first.update(p.client_order_id for p in pending)
        if position is not None and order_prefix:
            self.gateway.look_up_first.update(protective_ids(order_prefix, position))
        return self._adopt(result)

    def start(self) -> None:
        super().start()
        account = self._account()
        self.cash = account.quote_free
        self.locked_quote = account.quote_locked
        data = self._data()
        if account.base_total and not account.rules.dust(account.base_total, account.price):
            self.positions[data] = Position(account.base_total,
                                            self._restored_price or account.price)
        self.startingcash = self.cash + self.locked_quote + account.base_total * account.price
        log.info("Binance account: %.8g %s free, %.8g %s held", self.cash, account.rules.quote,
                 account.base_total, account.rules.base)

    # -- what the strategy reads ---------------------------------------------------------------
    def getvalue(self, datas: Any = None) -> float:
        data = self._data()
        position = self.positions[data]
        price = data.close[0] if len(data) else (position.price or 0.0)
        return self.cash + self.locked_quote + position.size * price

    # -- orders from the strategy --------------------------------------------------------------
    def _submit_to_venue(self, order: bt.Order) -> None:
        if order.exectype in (None, bt.Order.Market):
            self._send(order)
        elif order.exectype in (bt.Order.Stop, bt.Order.Limit) and order.issell():
            self._outbox.append(order)  # sent by transmit_held, paired with its OCO partner
        else:
            self._reject(order, "this broker sends market orders, and stop and limit sells "
                                "(protective orders); a trailing stop or a stop/limit buy is not "
                                "supported on Binance by this version")

    def _quantity(self, order: bt.Order, price: float) -> Decimal | None:
        account = self._account()
        size = abs(order.created.size)
        if order.info.client_order_id in self.gateway.look_up_first:
            # sent before a restart: the exchange's copy decides, whatever the balance says now
            return account.rules.quantity(size) or account.rules.step
        if order.issell():
            size = min(size, self.positions[order.data].size)
        quantity = account.rules.quantity(size)
        try:
            account.rules.check(quantity, price)
        except OrderRejected as exc:
            self._reject(order, str(exc))
            return None
        return quantity

    def _send(self, order: bt.Order) -> None:
        data = order.data
        price = data.close[0] if len(data) else self._account().price
        quantity = self._quantity(order, price)
        if quantity is None:
            return
        client_id = order.info.client_order_id
        self._live[client_id] = LiveOrder(order, client_id)
        intent = OrderIntent(client_id, "BUY" if order.isbuy() else "SELL", "MARKET", quantity)
        self._hand_over(self.gateway.place(intent), f"order {client_id}")

    def _flush(self) -> None:
        """Send the protective orders of the last bar: an OCO pair as one order list."""
        outbox, self._outbox = self._outbox, []
        rules = self._account().rules
        by_ref = {o.ref: o for o in outbox}
        sent: set[int] = set()
        for order in outbox:
            if order.ref in sent:
                continue
            partner = self._oco_partner(order, by_ref)
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
                                   stop_limit=rules.price(stop.created.price * (1 - STOP_LIMIT_SLACK)))
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
                                     stop=rules.price(order.created.price))
            else:
                intent = OrderIntent(cid, "SELL", "LIMIT", quantity,
                                     price=rules.price(order.created.price, up=True))
            self._hand_over(self.gateway.place(intent), f"order {cid}")

    @staticmethod
    def _oco_partner(order: bt.Order, by_ref: dict[int, bt.Order]) -> bt.Order | None:
        for other in by_ref.values():
            if other is order:
                continue
            linked = (getattr(other, "oco", None) is not None and other.oco.ref == order.ref) or \
                     (getattr(order, "oco", None) is not None and order.oco.ref == other.ref)
            if linked and {order.exectype, other.exectype} == {bt.Order.Stop, bt.Order.Limit}:
                return other
        return None

    def cancel(self, order: bt.Order, bracket: bool = False) -> bool:
        if order in self._outbox:  # never left the bot: cancel here, with any OCO partner
            for o in [o for o in self._outbox if o is order or self._linked(o, order)]:
                self._outbox.remove(o)
                o.cancel()
                self.notify(o)
            return True
        cid = order.info.client_order_id
        if cid in self._live and order.alive():
            self._hand_over(self.gateway.cancel(cid), f"cancel {cid}")
            return True
        return False

    @staticmethod
    def _linked(a: bt.Order, b: bt.Order) -> bool:
        return (getattr(a, "oco", None) is not None and a.oco.ref == b.ref) or \
               (getattr(b, "oco", None) is not None and b.oco.ref == a.ref)

    # -- what Binance answered (Cerebro thread) ------------------------------------------------
    def transmit_held(self) -> None:
        if self._outbox:
            self._flush()

    def next(self) -> None:
        self.transmit_held()  # a loop that never calls it (a plain Cerebro) still sends them
        super().next()

    def _execute(self, order: bt.Order, fill: Any) -> None:
        size = fill.quantity - fill.fee_base if order.isbuy() else -fill.quantity
        # filled while the bot was away: the balances read at start-up already hold it
        adopted = bool(self.account is not None and fill.time_ms
                       and fill.time_ms <= self.account.time_ms)
        if not adopted:
            if order.isbuy():
                self.cash -= fill.quantity * fill.price + (fill.fee_quote
                                                           - fill.fee_base * fill.price)
            else:
                self.cash += fill.quantity * fill.price - fill.fee_quote
        self._book(order, size, fill.price, fill.fee_quote, adopted)

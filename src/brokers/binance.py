"""BinanceBroker: a Backtrader broker whose orders go to Binance Spot (or its testnet).

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's ``OrderGateway`` on the I/O thread and return; what Binance answers (accepted, partial,
filled, canceled, rejected) comes back through the gateway's queue, which ``next()`` drains
(Cerebro calls it on every loop, also while no bar arrives) into Backtrader order notifications.
CustomStrategy, risk, store and journal see exactly what they see with the paper broker.

- Cash and position are the account's: free quote balance, and the base balance (free + locked)
  of the symbol; ``initial_balance`` does not apply. Fills move them as Binance reports them.
- Market orders go out at once with the strategy's deterministic client order id as
  ``newClientOrderId``. Stop and limit orders (the protective ones) go out on the broker's next
  tick, so a stop and a take-profit sent together become one OCO order list (two sell orders
  would each lock the whole position on Spot).
- Quantities are rounded down to LOT_SIZE, prices to PRICE_FILTER; an order under the symbol's
  minimum notional is rejected here, with the reason, and nothing is sent.
- A buy's fee charged in the base asset shrinks the position it opens; the order reports the net
  size and the fee's value in the quote currency as its commission.
"""
from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import backtrader as bt
from backtrader.position import Position

from brokers.binance_reconcile import Reconciliation, protective_ids, reconcile_account
from trading.core.errors import OrderRejected, VenueError
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.order_types import AccountState, OcoIntent, OrderIntent, OrderUpdate
from trading.venues.binance.orders import OrderGateway

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds to reach the account at start-up (the venue retries inside)
STOP_LIMIT_SLACK = 0.02  # a stop's limit price sits this far below its trigger (fills like a stop)


@dataclass
class _Live:
    order: bt.Order
    client_id: str
    venue_id: str | None = None


class BinanceBroker(bt.BrokerBase):
    """See the module docstring. ``BinanceBroker(venue=..., symbol="ETHBTC")``."""

    params = (("venue", None), ("symbol", ""))

    def __init__(self) -> None:
        super().__init__()
        venue: BinanceVenue = self.p.venue
        if venue is None:
            raise VenueError("BinanceBroker needs venue=BinanceVenue(...)")
        self.venue = venue
        self.gateway = OrderGateway(venue, self.p.symbol)
        self.notifs: collections.deque[bt.Order] = collections.deque()
        self.positions: collections.defaultdict = collections.defaultdict(Position)
        self.cash = 0.0
        self.locked_quote = 0.0
        self.startingcash = 0.0
        self._live: dict[str, _Live] = {}
        self._outbox: list[bt.Order] = []
        self._restored_price = 0.0
        self._inflight: set[Any] = set()  # futures of intents on the I/O thread
        self.account: AccountState | None = None

    # -- start-up (Cerebro thread, before the first bar) ---------------------------------------
    def _wait(self, coro: Any, name: str) -> Any:
        """Run ``coro`` on the I/O thread and wait for it (start-up only, never in ``next()``)."""
        async def outcome() -> tuple[Any, BaseException | None]:
            try:
                return await coro, None
            except Exception as exc:  # raised here, on this thread, not logged there
                return None, exc

        try:
            result, error = self.venue.submit(outcome(), name=name).result(START_TIMEOUT)
        except Exception as exc:
            raise VenueError(f"Binance did not answer in time ({name}): {exc}") from exc
        if isinstance(error, VenueError):
            raise error
        if error is not None:
            raise VenueError(f"{name}: {error}") from error
        return result

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
        self.venue.reconcile_result = result.summary
        if result.position is not None:
            self._restored_price = result.position.entry_price
        return result

    def restore(self, snapshot: Any) -> None:
        """A saved cash figure does not apply: the account's balances are the truth."""
        if snapshot is not None and getattr(snapshot, "position_price", 0):
            self._restored_price = self._restored_price or snapshot.position_price

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

    def _hand_over(self, coro: Any, name: str) -> None:
        """Give an intent to the I/O thread; never waits (next() and buy/sell call it)."""
        future = self.venue.submit(coro, name=name)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)

    def stop(self) -> None:
        super().stop()
        for future in list(self._inflight):  # an intent still retrying ends with the run
            future.cancel()
        try:
            self.venue.submit(self.gateway.stop(), name="stop order gateway").result(5.0)
        except Exception as exc:
            log.debug("stopping the order gateway: %s", exc)

    def _data(self) -> bt.AbstractDataBase:
        datas = getattr(getattr(self, "cerebro", None), "datas", None)
        if not datas:
            raise VenueError("BinanceBroker: install it with cerebro.setbroker() and add the data "
                             "first")
        return datas[0]

    # -- what the strategy reads ---------------------------------------------------------------
    def getcash(self) -> float:
        return self.cash

    def getvalue(self, datas: Any = None) -> float:
        data = self._data()
        position = self.positions[data]
        price = data.close[0] if len(data) else (position.price or 0.0)
        return self.cash + self.locked_quote + position.size * price

    def getposition(self, data: bt.AbstractDataBase) -> Position:
        return self.positions[data]

    def get_notification(self) -> bt.Order | None:
        return self.notifs.popleft() if self.notifs else None

    def notify(self, order: bt.Order) -> None:
        self.notifs.append(order.clone())

    # -- orders from the strategy --------------------------------------------------------------
    def buy(self, owner: Any, data: Any, size: float, price: float | None = None,
            plimit: float | None = None, exectype: int | None = None, valid: Any = None,
            tradeid: int = 0, oco: Any = None, trailamount: Any = None, trailpercent: Any = None,
            parent: Any = None, transmit: bool = True, **kwargs: Any) -> bt.Order:
        order = bt.BuyOrder(owner=owner, data=data, size=size, price=price, pricelimit=plimit,
                            exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
                            trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                            transmit=transmit)
        return self._submit(order, kwargs)

    def sell(self, owner: Any, data: Any, size: float, price: float | None = None,
             plimit: float | None = None, exectype: int | None = None, valid: Any = None,
             tradeid: int = 0, oco: Any = None, trailamount: Any = None, trailpercent: Any = None,
             parent: Any = None, transmit: bool = True, **kwargs: Any) -> bt.Order:
        order = bt.SellOrder(owner=owner, data=data, size=size, price=price, pricelimit=plimit,
                             exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
                             trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                             transmit=transmit)
        return self._submit(order, kwargs)

    def _submit(self, order: bt.Order, info: dict[str, Any]) -> bt.Order:
        order.addinfo(**info)
        order.addcomminfo(self.getcommissioninfo(order.data))
        client_id = info.get("client_order_id") or f"bt-{order.ref}"
        order.addinfo(client_order_id=client_id)
        order.submit(self)
        self.notify(order)
        if order.exectype in (None, bt.Order.Market):
            self._send(order)
        elif order.exectype in (bt.Order.Stop, bt.Order.Limit) and order.issell():
            self._outbox.append(order)  # sent on the next tick, paired with its OCO partner
        else:
            self._reject(order, "this broker sends market orders, and stop and limit sells "
                                "(protective orders); a trailing stop or a stop/limit buy is not "
                                "supported on Binance by this version")
        return order

    def _reject(self, order: bt.Order, reason: str) -> None:
        log.warning("order %s rejected: %s", order.info.client_order_id, reason)
        order.addinfo(message=reason)
        order.reject(self)
        self.notify(order)

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
        self._live[client_id] = _Live(order, client_id)
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
                    self._live[o.info.client_order_id] = _Live(o, o.info.client_order_id)
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
            self._live[cid] = _Live(order, cid)
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
    def next(self) -> None:
        if self._outbox:
            self._flush()
        updates = self.gateway.updates
        while not updates.empty():
            self._apply(updates.get_nowait())

    def _apply(self, update: OrderUpdate) -> None:
        live = self._live.get(update.client_id)
        if live is None:
            return
        order = live.order
        live.venue_id = update.venue_order_id or live.venue_id
        if update.venue_order_id:
            order.addinfo(venue_order_id=update.venue_order_id)
        if order.status == order.Submitted and update.status != "rejected":
            order.accept(self)
            self.notify(order)
        for fill in update.fills:
            self._execute(order, fill)
        if update.status in ("partial",) and update.fills:
            order.partial()
            self.notify(order)
        elif update.status == "filled":
            order.completed()
            self.notify(order)
        elif update.status in ("canceled", "expired"):
            if order.executed.size:
                order.completed()  # canceled after part of it filled: what filled stands
            else:
                order.cancel()
            self.notify(order)
        elif update.status == "rejected":
            order.addinfo(message=update.message)
            log.warning("order %s rejected: %s", update.client_id, update.message)
            order.reject(self)
            self.notify(order)
        if not order.alive():
            self._live.pop(update.client_id, None)

    def _execute(self, order: bt.Order, fill: Any) -> None:
        data = order.data
        position = self.positions[data]
        size = fill.quantity - fill.fee_base if order.isbuy() else -fill.quantity
        old_price = position.price
        if self.account is not None and fill.time_ms and fill.time_ms <= self.account.time_ms:
            # filled while the bot was away: the balances read at start-up already hold it
            log.info("order %s: adopting a fill of %.8g @ %.8g made while the bot was down",
                     order.info.client_order_id, fill.quantity, fill.price)
            opened, closed = (size, 0.0) if size > 0 else (0.0, size)
            psize, pprice = position.size, position.price
            if closed and not old_price:
                old_price = self._restored_price
        else:
            if order.isbuy():
                self.cash -= fill.quantity * fill.price + (fill.fee_quote - fill.fee_base * fill.price)
            else:
                self.cash += fill.quantity * fill.price - fill.fee_quote
            psize, pprice, opened, closed = position.update(size, fill.price)
        pnl = -closed * (fill.price - old_price) if closed else 0.0
        closedvalue = abs(closed) * old_price
        openedvalue = abs(opened) * fill.price
        share = fill.fee_quote
        dt = data.datetime[0] if len(data) else 0.0
        order.execute(dt, size, fill.price, closed, closedvalue, share if closed else 0.0,
                      opened, openedvalue, 0.0 if closed else share, 0.0, pnl, psize, pprice)

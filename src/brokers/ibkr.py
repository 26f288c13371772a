"""IbkrBroker: a Backtrader broker whose orders go to Interactive Brokers through TWS / IB Gateway.

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's ``OrderGateway`` on the I/O thread and return; what IB answers (accepted, partial,
filled, canceled, rejected) comes back through the gateway's queue, which ``next()`` drains
(Cerebro calls it on every loop, also while no bar arrives) into Backtrader order notifications.
CustomStrategy, risk, store and journal see exactly what they see with the paper broker.

- Cash and position are the account's: the cash balance in the contract's currency and the
  position in the contract, read at start-up; fills move them as IB reports them.
- Market, limit and stop orders go out at once with the strategy's deterministic client order id
  as ``orderRef``. Protective orders linked as OCO share an IB OCA group: when one fills, IB
  cancels the others. A trailing stop is refused (use the TrailingStopExitMixin exit).
- Quantities are whole shares / contracts / units (crypto: 8 decimals), rounded down; limit and
  stop prices sit on the contract's tick grid. A buy the cash cannot pay is refused here
  (``Margin``) and nothing is sent.
"""
from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

import backtrader as bt
from backtrader.position import Position

from brokers.ibkr_reconcile import Reconciliation, reconcile_account
from trading.core.errors import ConfigError, VenueError
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.order_types import AccountState, OrderIntent, OrderUpdate, VenueFill
from trading.venues.ibkr.orders import OrderGateway, round_price, round_quantity

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds to reach the account at start-up (the venue retries inside)
# the I/O thread, woken by the hand-over, waits for the GIL while this thread goes on with the
# bar (checkpoint ...): a short sleep lets it send the order first (about 1 ms sooner, p50)
HAND_OVER_YIELD = 0.0002
KINDS = {bt.Order.Market: "MKT", bt.Order.Limit: "LMT", bt.Order.Stop: "STP"}


@dataclass
class _Live:
    order: bt.Order
    client_id: str
    oca_group: str = ""
    canceling: bool = False


class IbkrBroker(bt.BrokerBase):
    """See the module docstring. ``IbkrBroker(venue=...)``: the venue knows the contract."""

    params = (("venue", None),)

    def __init__(self) -> None:
        super().__init__()
        venue: IbkrVenue = self.p.venue
        if venue is None:
            raise VenueError("IbkrBroker needs venue=IbkrVenue(...)")
        self.venue = venue
        self.gateway = OrderGateway(venue)
        self.notifs: collections.deque[bt.Order] = collections.deque()
        self.positions: collections.defaultdict = collections.defaultdict(Position)
        self.cash = 0.0
        self.startingcash = 0.0
        self._live: dict[str, _Live] = {}
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
            raise VenueError(f"TWS / IB Gateway did not answer in time ({name}): {exc}") from exc
        if isinstance(error, (VenueError, ConfigError)):
            raise error
        if error is not None:
            raise VenueError(f"{name}: {error}") from error
        return result

    def _account(self) -> AccountState:
        if self.account is None:
            self.account = self._wait(self.gateway.start(), "ibkr account")
        return self.account

    def reconcile(self, *, position: OpenTrade | None, pending: tuple[PendingOrder, ...],
                  order_prefix: str = "") -> Reconciliation:
        """Compare the saved position and pending orders with the account; the account wins."""
        account = self._account()
        contract = self.venue.contract
        symbol = contract.localSymbol or contract.symbol if contract is not None else ""
        result = reconcile_account(account, position, pending, self.gateway.known, order_prefix,
                                   symbol=symbol)
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
        self.cash = account.cash
        if account.position:
            self.positions[self._data()] = Position(account.position, self._restored_price
                                                    or account.average_cost)
        price = account.average_cost or 0.0
        self.startingcash = self.cash + account.position * price
        log.info("IB account %s: %.2f %s cash, position %g", account.account, self.cash,
                 account.currency, account.position)

    def _hand_over(self, coro: Any, name: str) -> None:
        """Give an intent to the I/O thread; never waits (next() and buy/sell call it)."""
        future = self.venue.submit(coro, name=name)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        time.sleep(HAND_OVER_YIELD)

    def stop(self) -> None:
        super().stop()
        for future in list(self._inflight):
            future.cancel()
        try:
            self.venue.submit(self.gateway.stop(), name="stop order gateway").result(5.0)
        except Exception as exc:
            log.debug("stopping the order gateway: %s", exc)

    def _data(self) -> bt.AbstractDataBase:
        datas = getattr(getattr(self, "cerebro", None), "datas", None)
        if not datas:
            raise VenueError("IbkrBroker: install it with cerebro.setbroker() and add the data "
                             "first")
        return datas[0]

    # -- what the strategy reads ---------------------------------------------------------------
    def getcash(self) -> float:
        return self.cash

    def getvalue(self, datas: Any = None) -> float:
        data = self._data()
        position = self.positions[data]
        price = data.close[0] if len(data) else (position.price or 0.0)
        return self.cash + position.size * price

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
        kind = KINDS.get(order.exectype if order.exectype is not None else bt.Order.Market)
        if kind is None:
            self._reject(order, "this broker sends market, limit and stop orders; a trailing "
                                "stop or a stop-limit order is not supported on Interactive "
                                "Brokers by this version (use the TrailingStopExitMixin exit)")
            return order
        self._send(order, kind)
        return order

    def _reject(self, order: bt.Order, reason: str) -> None:
        log.warning("order %s rejected: %s", order.info.client_order_id, reason)
        order.addinfo(message=reason)
        order.reject(self)
        self.notify(order)

    def _send(self, order: bt.Order, kind: str) -> None:
        data = order.data
        contract = self.venue.contract
        sec_type = contract.secType if contract is not None else "STK"
        quantity = round_quantity(abs(order.created.size), sec_type)
        if quantity <= 0:
            self._reject(order, f"size {abs(order.created.size):g} rounds down to 0 "
                                f"{'units' if sec_type != 'STK' else 'shares'}")
            return
        price = None
        if kind != "MKT":
            # a limit buy / stop sell rounds down, a limit sell / stop buy up: never worse
            up = (kind == "LMT") == order.issell()
            price = round_price(order.created.price, self.venue.min_tick, up=up)
        if order.isbuy():
            estimate = price if price is not None else (data.close[0] if len(data) else 0.0)
            comm = order.comminfo.getcommission(quantity, estimate) if order.comminfo else 0.0
            if quantity * estimate + comm > self.cash + 1e-9:
                order.margin()
                self.notify(order)
                log.warning("order %s refused: %g at %.8g costs more than the %.2f cash",
                            order.info.client_order_id, quantity, estimate, self.cash)
                return
        client_id = order.info.client_order_id
        group = self._oca_group(order) if kind != "MKT" else ""
        self._live[client_id] = _Live(order, client_id, group)
        intent = OrderIntent(client_id, "BUY" if order.isbuy() else "SELL", kind, quantity,
                             price=price, oca_group=group)
        self._hand_over(self.gateway.place(intent), f"order {client_id}")

    @staticmethod
    def _oca_group(order: bt.Order) -> str:
        """Orders linked by ``oco`` share one OCA group, named after the group's first order."""
        root = getattr(order, "oco", None) or order
        return f"{root.info.get('client_order_id') or root.ref}-oca"

    def cancel(self, order: bt.Order, bracket: bool = False) -> bool:
        cid = order.info.client_order_id
        live = self._live.get(cid)
        if live is None or not order.alive():
            return False
        # Backtrader cancels an OCO group together; at IB only a fill does: cancel each
        group = [x for x in self._live.values() if live.oca_group and
                 x.oca_group == live.oca_group] or [live]
        for member in group:
            if member.canceling:
                continue
            member.canceling = True
            self._hand_over(self.gateway.cancel(member.client_id), f"cancel {member.client_id}")
        return True

    # -- what IB answered (Cerebro thread) -----------------------------------------------------
    def next(self) -> None:
        updates = self.gateway.updates
        while not updates.empty():
            self._apply(updates.get_nowait())

    def _apply(self, update: OrderUpdate) -> None:
        live = self._live.get(update.client_id)
        if live is None:
            return
        order = live.order
        if update.venue_order_id:
            order.addinfo(venue_order_id=update.venue_order_id)
        if order.status == order.Submitted and update.status != "rejected":
            order.accept(self)
            self.notify(order)
        for fill in update.fills:
            self._execute(order, fill)
        if update.status == "partial" and update.fills:
            order.partial()
            self.notify(order)
        elif update.status == "filled":
            order.completed()
            self.notify(order)
        elif update.status == "canceled":
            if order.executed.size:
                order.completed()  # canceled after part of it filled: what filled stands
            else:
                order.cancel()
            self.notify(order)
        elif update.status == "rejected":
            order.addinfo(message=update.message)
            log.warning("order %s rejected by IB: %s", update.client_id, update.message)
            order.reject(self)
            self.notify(order)
        if not order.alive():
            self._live.pop(update.client_id, None)

    def _execute(self, order: bt.Order, fill: VenueFill) -> None:
        data = order.data
        position = self.positions[data]
        size = fill.quantity if order.isbuy() else -fill.quantity
        old_price = position.price
        if self.account is not None and fill.exec_id in self.account.known_exec_ids:
            # filled while the bot was away: the position read at start-up already holds it
            log.info("order %s: adopting a fill of %g @ %.8g made while the bot was down",
                     order.info.client_order_id, fill.quantity, fill.price)
            opened, closed = (size, 0.0) if size > 0 else (0.0, size)
            psize, pprice = position.size, position.price
            if closed and not old_price:
                old_price = self._restored_price
        else:
            self.cash -= size * fill.price + fill.fee
            psize, pprice, opened, closed = position.update(size, fill.price)
        pnl = -closed * (fill.price - old_price) if closed else 0.0
        closedvalue = abs(closed) * old_price
        openedvalue = abs(opened) * fill.price
        dt = data.datetime[0] if len(data) else 0.0
        order.execute(dt, size, fill.price, closed, closedvalue, fill.fee if closed else 0.0,
                      opened, openedvalue, 0.0 if closed else fill.fee, 0.0, pnl, psize, pprice)

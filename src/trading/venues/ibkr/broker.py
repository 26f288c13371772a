"""IbkrBroker: a Backtrader broker whose orders go to Interactive Brokers through TWS / IB Gateway.

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's ``OrderGateway`` on the I/O thread and return; what IB answers (accepted, partial,
filled, canceled, rejected) comes back through the gateway's queue, which ``next()`` drains
(Cerebro calls it on every loop, also while no bar arrives) into Backtrader order notifications.
CustomStrategy, risk, store and journal see exactly what they see with the paper broker.

- Cash and positions are the account's: the cash balance in the contracts' currency and the
  position in each symbol's contract (a basket: one contract per symbol, one cash), read at
  start-up; fills move them as IB reports them (``VenueBroker`` books them on the order's
  symbol; the start-up reconciliation is the shared one).
- Market, limit and stop orders go out once the bot has saved them (``transmit_held``, see
  ``VenueBroker``), with the strategy's deterministic client order id as ``orderRef``. Protective orders linked as OCO share an IB OCA group: when one fills, IB
  cancels the others. A trailing stop is refused (use the TrailingStopExitMixin exit).
- Each order goes to its symbol's contract. Quantities are whole shares / contracts / units
  (crypto: 8 decimals), rounded down; limit and stop prices sit on that contract's tick grid. A buy the cash cannot pay is refused here
  (``Margin``) and nothing is sent.
"""
from __future__ import annotations

import logging

import backtrader as bt

from brokers.venue_broker import LiveOrder, VenueBroker
from trading.venues.ibkr.order_types import OrderIntent
from trading.venues.ibkr.orders import OrderGateway, round_price, round_quantity

log = logging.getLogger(__name__)

KINDS = {bt.Order.Market: "MKT", bt.Order.Limit: "LMT", bt.Order.Stop: "STP"}


def _kind(order: bt.Order) -> str | None:
    """IB's order type for ``order`` (None: one this broker does not send)."""
    return KINDS.get(order.exectype if order.exectype is not None else bt.Order.Market)


class IbkrBroker(VenueBroker):
    """See the module docstring. ``IbkrBroker(venue=..., symbols=...)``: the venue knows each
    symbol's contract."""

    VENUE = "TWS / IB Gateway"

    def _gateway(self) -> OrderGateway:
        return OrderGateway(self.venue)

    # -- orders from the strategy --------------------------------------------------------------
    def _refusal(self, order: bt.Order) -> str | None:
        if _kind(order) is not None:
            return None
        return ("this broker sends market, limit and stop orders; a trailing stop or a "
                "stop-limit order is not supported on Interactive Brokers by this version (use "
                "the TrailingStopExitMixin exit)")

    def _send_held(self, orders: list[bt.Order]) -> None:
        for order in orders:
            self._send(order, _kind(order))

    def _send(self, order: bt.Order, kind: str) -> None:
        data = order.data
        symbol = self._symbol_of(data)
        contract = self.venue.contract_of(symbol)
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
            price = round_price(order.created.price, self.venue.min_ticks.get(symbol, 0.0),
                                up=up)
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
        self._live[client_id] = LiveOrder(order, client_id, oca_group=group)
        intent = OrderIntent(client_id, "BUY" if order.isbuy() else "SELL", kind, quantity,
                             price=price, oca_group=group, symbol=symbol)
        self._hand_over(self.gateway.place(intent), f"order {client_id}")

    @staticmethod
    def _oca_group(order: bt.Order) -> str:
        """Orders linked by ``oco`` share one OCA group, named after the group's first order."""
        root = getattr(order, "oco", None) or order
        return f"{root.info.get('client_order_id') or root.ref}-oca"

    def _cancel_at_venue(self, order: bt.Order) -> bool:
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

"""The template venue's broker: a ``VenueBroker`` (brokers.venue_broker) books fills, keeps cash
and positions (one per symbol of a basket), notifies the strategy and reconciles at start-up; a
venue's broker only says how orders go out the venue's way (here: market orders at their
symbol; anything else is refused with the reason), once the bot has saved them."""
from __future__ import annotations

import backtrader as bt

from brokers.venue_broker import LiveOrder, VenueBroker

from .orders import TemplateGateway


class TemplateBroker(VenueBroker):
    VENUE = "the template venue"

    def _gateway(self) -> TemplateGateway:
        return TemplateGateway(self.venue)

    def _refusal(self, order: bt.Order) -> str | None:
        """Checked when the strategy places an order: what the venue cannot take."""
        if order.exectype not in (None, bt.Order.Market):
            return "the template venue takes market orders only"
        return None

    def _send_held(self, orders: list[bt.Order]) -> None:
        """Orders the bot has saved, to the venue (on the I/O thread, never waiting here)."""
        for order in orders:
            client_id = order.info.client_order_id
            self._live[client_id] = LiveOrder(order, client_id)
            side = "BUY" if order.isbuy() else "SELL"
            self._hand_over(self.gateway.place(client_id, side, abs(order.created.size),
                                               self._symbol_of(order.data)),
                            f"order {client_id}")

    def _cancel_at_venue(self, order: bt.Order) -> bool:
        return False  # market orders fill at once: nothing rests to cancel

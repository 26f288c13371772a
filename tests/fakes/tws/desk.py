"""The order desk: placeOrder / cancelOrder handling, fills (automatic or on the test's word), OCA
groups and parent/child orders, and the messages each change sends to whom (the owning client,
a master client 0, position and account subscribers). Runs on the fake's loop thread."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fakes.tws import order_wire as wire
from fakes.tws.contracts import NO_SECURITY, ContractRequest, request_exchange
from fakes.tws.orders import DuplicateOrderId, ExecutionRecord, OrderRecord, parse_place_order

if TYPE_CHECKING:
    from fakes.tws.server import FakeTWS
    from fakes.tws.session import Session

log = logging.getLogger(__name__)
REJECTED = 201
CANCELLED_TEXT = "Order Canceled - reason:"


class OrderDesk:
    def __init__(self, server: "FakeTWS") -> None:
        self.server = server
        self.book = server.book

    # -- who hears what ----------------------------------------------------------------------
    def _owners(self, order: OrderRecord) -> list["Session"]:
        """The sessions told about ``order``: its client's, and a master client 0's."""
        return [s for s in self.server.live_sessions()
                if s.client_id == order.client_id or s.client_id == 0]

    def announce(self, order: OrderRecord, open_order: bool = True) -> None:
        for session in self._owners(order):
            if open_order:
                session.send(*wire.open_order_fields(order, session.version))
            session.send(*wire.order_status_fields(order))

    def _announce_fill(self, ex: ExecutionRecord) -> None:
        tz = self.server.tz
        for session in self._owners(ex.order):
            session.send(*wire.exec_details_fields(-1, ex, tz))
            if ex.order.status == "Filled":
                session.send(*wire.open_order_fields(ex.order, session.version))
            session.send(*wire.order_status_fields(ex.order))
            session.send(*wire.commission_fields(ex))
        self.account_changed(ex.order.account, ex.order.spec.con_id)

    def account_changed(self, account: str, con_id: int | None = None) -> None:
        """Position, portfolio and account-value updates to the sessions subscribed to them."""
        pos = self.book.positions.get((account, con_id)) if con_id is not None else None
        for session in self.server.live_sessions():
            if session.wants_positions and pos is not None:
                session.send(*wire.position_fields(pos))
            if session.account_updates == account:
                session.send_account(account)
            for req_id, acct in session.multi.items():
                if acct in ("", account):
                    session.send_account_multi(req_id, account)

    # -- requests ----------------------------------------------------------------------------
    def place(self, session: "Session", fields: list[str]) -> None:
        assert session.client_id is not None
        sent = parse_place_order(fields, session.version)
        hook = self.server.on_order
        if hook is not None:
            hook("received", sent)
        try:
            self._place(session, fields, sent)
        finally:
            if hook is not None:
                hook("answered", sent)

    def _place(self, session: "Session", fields: list[str], sent: dict[str, object]) -> None:
        req = ContractRequest.parse(fields, 2)
        found = self.server.lookup(req)
        if len(found) != 1:
            session.error(int(sent["order_id"]), *NO_SECURITY)  # type: ignore[arg-type]
            return
        spec = found[0]
        try:
            order, new = self.book.place(session.client_id, self.server.accounts[0], spec,
                                         request_exchange(spec, req), sent)
        except DuplicateOrderId as exc:
            session.error(exc.args[0], 103, "Duplicate order id")
            return
        rejection = self.book.take_rejection(order) if new else None
        if rejection is not None:
            code, reason, status = rejection
            self.book.finish(order, status, f"Rejected: {reason}")
            session.error(order.order_id, code, f"Order rejected - reason:{reason}")
            self.announce(order, open_order=False)
            return
        if new:
            order.status = "Submitted" if self.book.eligible(order) \
                and order.order_type.upper() in ("MKT", "LMT") else "PreSubmitted"
        self.announce(order)
        if self.book.policy.auto:
            delay = self.server.fill_delay
            if delay > 0:
                self.server.loop.call_later(delay, self.try_fill_at_market, order)
            else:
                self.try_fill_at_market(order)

    def cancel(self, session: "Session", order_id: int) -> None:
        order = self.book.find(session.client_id or 0, order_id)
        if order is None:
            session.error(order_id, 10147,
                          f"OrderId {order_id} that needs to be cancelled is not found.")
            return
        if order.done:
            session.error(order_id, 10148, f"OrderId {order_id} that needs to be cancelled "
                                           f"cannot be cancelled, state: {order.status}.")
            return
        self.cancel_order(order, "Cancelled by Trader")
        session.error(order_id, 202, CANCELLED_TEXT)

    def cancel_order(self, order: OrderRecord, why: str) -> None:
        self.book.finish(order, "Cancelled", why)
        self.announce(order, open_order=False)
        for child in self.book.children(order):
            self.cancel_order(child, "Parent cancelled")

    def global_cancel(self) -> None:
        for order in self.book.working():
            if not order.done:
                self.cancel_order(order, "Global cancel")

    # -- fills -------------------------------------------------------------------------------
    def try_fill_at_market(self, order: OrderRecord) -> None:
        """Fill ``order`` now if it is marketable at the current price (auto policy)."""
        if not self.book.eligible(order):
            return
        price = self.server.market_price(order.spec.con_id)
        if price is None:
            return
        at = self.book.trigger_price(order, price, price, price, price)
        if at is not None:
            self.fill(order, order.remaining, at)

    def on_bar(self, con_id: int, open_: float, high: float, low: float, close: float) -> None:
        """The market traded ``open_``..``close`` within ``low``..``high``: fill what it crossed."""
        if not self.book.policy.auto:
            return
        for order in list(self.book.working()):
            if order.spec.con_id != con_id or not self.book.eligible(order):
                continue
            at = self.book.trigger_price(order, open_, high, low, close)
            if at is not None and self.book.eligible(order):
                self.fill(order, order.remaining, at)

    def fill(self, order: OrderRecord, quantity: float, price: float,
             parts: int | None = None) -> list[ExecutionRecord]:
        """Execute ``quantity`` of ``order`` at ``price`` in ``parts`` executions, then the OCA
        group and child orders react."""
        parts = max(1, parts or self.book.policy.parts)
        quantity = min(quantity, order.remaining)
        done: list[ExecutionRecord] = []
        sizes = _split(quantity, parts, order.spec.size_increment)
        for size in sizes:
            if size <= 0 or order.done:
                continue
            ex = self.book.execute(order, size, price)
            done.append(ex)
            self._announce_fill(ex)
        if done:
            self._oca_react(order, sum(ex.shares for ex in done))
        if order.status == "Filled":
            for child in self.book.children(order):
                child.status = "Submitted" if child.order_type.upper() in ("MKT", "LMT") \
                    else "PreSubmitted"
                self.announce(child, open_order=False)
                if self.book.policy.auto:
                    self.try_fill_at_market(child)
        return done


    def _oca_react(self, order: OrderRecord, shares: float) -> None:
        """The rest of ``order``'s OCA group: ocaType 2 and 3 reduce each by the shares filled,
        any other type cancels them (TWS's 1, "cancel with block")."""
        for peer in self.book.oca_peers(order):
            if order.oca_type in (2, 3):
                peer.quantity = max(peer.quantity - shares, peer.filled)
                if peer.remaining <= 1e-9:
                    self.cancel_order(peer, f"OCA group {order.oca_group} filled")
                else:
                    self.announce(peer)
            else:
                self.cancel_order(peer, f"OCA group {order.oca_group} filled")


def _split(quantity: float, parts: int, increment: float) -> list[float]:
    """``quantity`` in ``parts`` sizes on the contract's size increment (the last takes the rest)."""
    if parts == 1:
        return [quantity]
    step = increment or 1.0
    each = max(step, (quantity / parts) // step * step)
    sizes: list[float] = []
    left = quantity
    for _ in range(parts - 1):
        if left - each < step / 2:
            break
        sizes.append(each)
        left -= each
    sizes.append(round(left, 8))
    return sizes

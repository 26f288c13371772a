"""Orders at IB for the traded contracts (one, or a basket's: one per symbol), on the I/O thread:
``OrderGateway``.

The broker (on Backtrader's thread) hands it intents with ``venue.submit(gateway.place(...))``
and reads the kernel's ``OrderUpdate``s from ``gateway.updates``, a thread-safe queue; the
account at start-up and an order looked up by its client id are the kernel's reports too
(``AccountReport``, ``OrderReport``). Everything TWS says
about an order (``openOrder``, ``orderStatus``, ``execDetails``, ``commissionReport``, an error
on its id) becomes one sequence of updates per client order id: each execution once (by exec
id), with its fee; the final status only once every execution is told.

- Idempotent: the bot's client order id travels as ``orderRef``. Before an order goes out, the
  orders IB reports (open and completed ones, and executions: read again on every connect) are
  searched for it; one found is followed, never placed twice. That covers a restart and a
  dropped connection alike.
- Fees come from commission reports, which TWS sends just after the execution; an execution
  whose report does not come within ``fee_wait`` seconds is told with a fee of 0.
- An error on an order's id that ends it (201 rejected, margin, price checks ...) is a
  rejection carrying IB's message; a cancel the bot asked for is a cancel.
- A basket: the account is read per contract (its position, its orders; one cash, so the
  contracts must share one currency); each order goes to its symbol's contract, and the orders
  and executions followed are those of any of the basket's contracts.
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ib_async import Order

from trading.core.client_ids import symbol_of
from trading.core.errors import ConfigError, VenueError
from trading.core.reports import AccountReport, Fill, OrderReport, OrderUpdate, UpdateQueue
from trading.venues.ibkr import codes
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.order_types import OrderIntent

log = logging.getLogger(__name__)

ACTIVE = ("PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel",
          "ValidationError")
WORKING = ("PendingSubmit", "ApiPending", "PreSubmitted", "Submitted")  # open at IB
DONE_STATUS = {"Filled": "filled", "Cancelled": "canceled", "ApiCancelled": "canceled",
               "Inactive": "rejected"}
FINAL = ("filled", "canceled", "rejected")
EPSILON = 1e-9
POSITION_TOLERANCE = 1e-6  # positions within this agree (IB reports whole units as floats)
UNSET = 1e300  # IB's "no value" double is 1.79e308
READY_WAIT = 120.0  # seconds an order waits for the connection before it is given up


@dataclass
class _Tracked:
    intent: OrderIntent | None = None
    trade: Any = None  # ib_async's Trade
    status: str = "sent"
    exec_ids: set[str] = field(default_factory=set)
    waiting: dict[str, Any] = field(default_factory=dict)  # exec id -> Fill without its fee
    filled: float = 0.0
    cancel_requested: bool = False


class OrderGateway:
    """See the module docstring. One per broker; ``start()`` before anything else."""

    def __init__(self, venue: IbkrVenue, fee_wait: float = 2.0) -> None:
        self.venue = venue
        self.fee_wait = fee_wait
        self.updates: UpdateQueue[OrderUpdate | dict[str, AccountReport]] = UpdateQueue()
        self.accounts: dict[str, AccountReport] | None = None
        self._known_exec_ids: frozenset[str] = frozenset()  # executions read at start-up
        self._tracked: dict[str, _Tracked] = {}
        self._at_ib: set[str] = set()  # client ids IB reported or this gateway placed
        self._lock: asyncio.Lock | None = None
        self._hooked = False

    # -- start-up ----------------------------------------------------------------------------
    async def start(self) -> dict[str, AccountReport]:
        """Connect; read the account's cash and each contract's position and orders; follow
        them."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.accounts is not None:
                return self.accounts
            await self.venue.start()
            currencies = {c.currency for c in self.venue.contracts.values()}
            if len(currencies) > 1:
                listed = ", ".join(f"{s} in {c.currency}" for s, c in self.venue.contracts.items())
                raise ConfigError(f"trading.symbols: a basket trades from one cash balance, so "
                                  f"its contracts must share one currency; IB lists {listed}")
            self._hook()
            self._at_ib = self._refs()
            self.accounts = self._read_account()
            return self.accounts

    def _hook(self) -> None:
        if self._hooked:
            return
        ib = self.venue.ib
        ib.orderStatusEvent += self._on_status
        ib.execDetailsEvent += self._on_execution
        ib.commissionReportEvent += self._on_commission
        self.venue.add_listener(self._on_connection)
        self._hooked = True

    async def stop(self) -> None:
        if not self._hooked:
            return
        ib = self.venue.ib
        ib.orderStatusEvent -= self._on_status
        ib.execDetailsEvent -= self._on_execution
        ib.commissionReportEvent -= self._on_commission
        self._hooked = False

    def _read_account(self) -> dict[str, AccountReport]:
        """The account of each symbol: its contract's position and open orders, one cash."""
        ib, venue = self.venue.ib, self.venue
        assert venue.contracts, "started"
        held = {p.contract.conId: (float(p.position), float(p.avgCost))
                for p in (ib.positions(venue.account) if venue.account else ib.positions())}
        # executions IB reported at start-up: the position already includes them (IB's
        # execution times have whole seconds, too coarse to tell one just before start-up)
        self._known_exec_ids = frozenset(f.execution.execId for f in ib.fills())
        opened: dict[str, list[OrderReport]] = {symbol: [] for symbol in venue.contracts}
        for ref in sorted(self._refs()):
            found = self.known(ref)
            if found is not None and found.open:
                opened.setdefault(self._symbol_of_ref(ref), []).append(found)
        first = next(iter(venue.contracts.values()))
        cash, now = self._cash(first.currency), self._now()
        reports = {}
        for symbol, contract in venue.contracts.items():
            size, cost = held.get(contract.conId, (0.0, 0.0))
            multiplier = float(contract.multiplier or 1) if contract.secType == "FUT" else 1.0
            average = cost / multiplier if multiplier else cost
            reports[symbol] = AccountReport(
                symbol=contract.localSymbol or contract.symbol, position=size, price=average,
                average_cost=average, cash=cash, currency=contract.currency,
                account=venue.account, open_orders=tuple(opened[symbol]), time=now,
                step=POSITION_TOLERANCE)
        return reports

    def _cash(self, currency: str) -> float:
        values = self.venue.ib.accountValues(self.venue.account) if self.venue.account else \
            self.venue.ib.accountValues()
        found: dict[str, float] = {}
        for v in values:
            if v.tag in ("TotalCashValue", "CashBalance") and v.currency in (currency, "BASE"):
                try:
                    found.setdefault(f"{v.tag}/{v.currency}", float(v.value))
                except ValueError:
                    continue
        for key in (f"TotalCashValue/{currency}", f"CashBalance/{currency}",
                    "TotalCashValue/BASE", "CashBalance/BASE"):
            if key in found:
                return found[key]
        log.warning("IB reported no cash balance in %s for account %s; counting 0", currency,
                    self.venue.account)
        return 0.0

    @staticmethod
    def _now() -> float:
        return time.time()

    # -- what IB knows ------------------------------------------------------------------------
    def _ours(self, contract: Any) -> bool:
        """Whether ``contract`` is one of the bot's (an order not tied to one yet counts)."""
        con_ids = {c.conId for c in self.venue.contracts.values()}
        return not con_ids or not contract.conId or contract.conId in con_ids

    def _trades_by_ref(self, client_id: str) -> list[Any]:
        return [t for t in self.venue.ib.trades()
                if t.order.orderRef == client_id and self._ours(t.contract)]

    def _fills_by_ref(self, client_id: str) -> list[Any]:
        return [f for f in self.venue.ib.fills() if f.execution.orderRef == client_id]

    def _refs(self) -> set[str]:
        refs = {t.order.orderRef for t in self.venue.ib.trades()
                if t.order.orderRef and self._ours(t.contract)}
        refs.update(f.execution.orderRef for f in self.venue.ib.fills()
                    if f.execution.orderRef and self._ours(f.contract))
        return refs

    def _symbol_of_ref(self, client_id: str) -> str:
        """The symbol of the order with this client id: its contract's, else its id's tag's."""
        by_con_id = {c.conId: s for s, c in self.venue.contracts.items()}
        for holder in [*self._trades_by_ref(client_id), *self._fills_by_ref(client_id)]:
            if holder.contract.conId in by_con_id:
                return by_con_id[holder.contract.conId]
        symbols = tuple(self.venue.contracts)
        return symbol_of(client_id, symbols) or symbols[0]

    def known(self, client_id: str) -> OrderReport | None:
        """The order with this client id as IB reports it (None when IB never had it)."""
        trades = self._trades_by_ref(client_id)
        fills = self._fills_by_ref(client_id)
        if not trades and not fills:
            return None
        filled = sum(float(f.execution.shares) for f in fills)
        if trades:
            trade = trades[-1]
            o, s = trade.order, trade.orderStatus
            filled = max(filled, float(s.filled))
            status = DONE_STATUS.get(s.status) or ("partial" if filled > EPSILON else "accepted")
            return OrderReport(client_id=client_id, side=o.action, kind=o.orderType,
                               quantity=float(o.totalQuantity), filled=filled, status=status,
                               venue_order_id=str(o.orderId) if o.orderId else None)
        side = "BUY" if fills[0].execution.side in ("BOT", "BUY") else "SELL"
        return OrderReport(client_id=client_id, side=side, kind="?", quantity=filled,
                           filled=filled, status="filled")

    async def report(self, client_id: str) -> OrderReport | None:
        """``known`` on the I/O thread (after start)."""
        await self.start()
        return self.known(client_id)

    async def refresh_account(self) -> None:
        """The account read again, on ``updates`` after every update before it."""
        self.updates.put(self._read_account())

    def may_exist(self, client_ids: object) -> None:
        """Nothing to do: every order IB reports (read at start and on every reconnect) is
        searched by its client id before an order goes out."""

    # -- orders ------------------------------------------------------------------------------
    async def place(self, intent: OrderIntent) -> None:
        """Send ``intent`` once, or follow the order IB already has with its client id.

        Never raises: whatever happens ends in an update for the broker."""
        tracked = self._tracked.setdefault(intent.client_id, _Tracked())
        tracked.intent = intent
        try:
            if not self.venue.ready and not await self.venue.wait_ready(READY_WAIT):
                self._emit(intent.client_id, tracked, "rejected",
                           message=f"TWS was not connected to IB for {READY_WAIT:g}s; the order "
                                   "was not placed")
                return
            if intent.client_id in self._at_ib:  # read at start and on every reconnect
                log.info("order %s is already at IB: following it, not placing it again",
                         intent.client_id)
                self._absorb(intent.client_id)
                return
            contract = self.venue.contract_of(intent.symbol) if intent.symbol \
                else self.venue.contract
            if contract is None:
                raise VenueError("the Interactive Brokers connection is not started")
            tracked.trade = self.venue.ib.placeOrder(contract, self._order(intent))
            self._at_ib.add(intent.client_id)
        except (VenueError, ConnectionError, OSError) as exc:
            self._emit(intent.client_id, tracked, "rejected",
                       message=f"the order could not be sent to TWS: {exc}")

    @staticmethod
    def _order(intent: OrderIntent) -> Order:
        order = Order(action=intent.side, totalQuantity=intent.quantity, orderType=intent.kind,
                      orderRef=intent.client_id, transmit=True)
        if intent.kind == "LMT":
            order.lmtPrice = intent.price
            order.tif = "GTC"
        elif intent.kind == "STP":
            order.auxPrice = intent.price
            order.tif = "GTC"
        if intent.oca_group:
            order.ocaGroup = intent.oca_group
            order.ocaType = 1  # cancel the others when one fills
        return order

    async def cancel(self, client_id: str) -> None:
        """Cancel an open order; one already done is reported as IB has it."""
        tracked = self._tracked.setdefault(client_id, _Tracked())
        if tracked.status in FINAL:
            return
        tracked.cancel_requested = True
        trades = [t for t in self._trades_by_ref(client_id) if not t.isDone()]
        if not trades:
            if tracked.trade is None and not self._fills_by_ref(client_id):
                self._emit(client_id, tracked, "canceled", message="canceled before it reached IB")
            else:
                self._absorb(client_id)
            return
        try:
            for trade in trades:
                self.venue.ib.cancelOrder(trade.order)
        except (ConnectionError, OSError) as exc:
            log.warning("cancel %s: TWS could not be told (%s); it is asked again after the "
                        "reconnect", client_id, exc)

    # -- what TWS says (I/O thread) ----------------------------------------------------------
    def _on_status(self, trade: Any) -> None:
        ref = trade.order.orderRef
        if ref in self._tracked:
            self._tracked[ref].trade = trade
            self._evaluate(ref)

    def _on_execution(self, trade: Any, fill: Any) -> None:
        ref = fill.execution.orderRef or trade.order.orderRef
        tracked = self._tracked.get(ref)
        if tracked is None or fill.execution.execId in tracked.exec_ids:
            return
        tracked.trade = trade
        tracked.waiting[fill.execution.execId] = fill
        report = fill.commissionReport
        if report is not None and report.execId == fill.execution.execId:
            self._take(ref, fill.execution.execId, report.commission)
            return
        asyncio.get_running_loop().call_later(self.fee_wait, self._fee_timeout, ref,
                                              fill.execution.execId)

    def _on_commission(self, trade: Any, fill: Any, report: Any) -> None:
        ref = fill.execution.orderRef or trade.order.orderRef
        if ref in self._tracked:
            self._take(ref, fill.execution.execId, report.commission)

    def _fee_timeout(self, ref: str, exec_id: str) -> None:
        tracked = self._tracked.get(ref)
        if tracked is not None and exec_id in tracked.waiting:
            log.info("order %s: no commission report for execution %s within %gs; its fee is "
                     "counted as 0", ref, exec_id, self.fee_wait)
            self._take(ref, exec_id, 0.0)

    def _take(self, ref: str, exec_id: str, commission: float) -> None:
        tracked = self._tracked[ref]
        fill = tracked.waiting.pop(exec_id, None)
        if fill is None or exec_id in tracked.exec_ids:
            return
        fee = float(commission) if commission and abs(commission) < UNSET else 0.0
        self._evaluate(ref, (self._venue_fill(fill, fee),))

    def _venue_fill(self, fill: Any, fee: float) -> Fill:
        e = fill.execution
        when = e.time.timestamp() if hasattr(e.time, "timestamp") else 0.0
        return Fill(fill_id=e.execId, quantity=abs(float(e.shares)), price=float(e.price),
                    fee=abs(fee), time=when, before_start=e.execId in self._known_exec_ids)

    def _on_connection(self, what: str) -> None:
        if what != "restored":
            return
        self._at_ib |= self._refs()
        # a reconnect re-read open and completed orders and executions: catch up on each order
        for ref, tracked in list(self._tracked.items()):
            if tracked.status not in FINAL:
                self._absorb(ref)
                if tracked.cancel_requested and tracked.status not in FINAL:
                    asyncio.get_running_loop().create_task(self.cancel(ref))
        if self.accounts is not None:  # every order caught up: the broker compares positions
            self.updates.put(self._read_account())

    def _absorb(self, ref: str) -> None:
        """Catch up with everything IB reports about ``ref`` (executions, then the status)."""
        tracked = self._tracked.setdefault(ref, _Tracked())
        trades = self._trades_by_ref(ref)
        if trades:
            tracked.trade = trades[-1]
        fills = tuple(self._venue_fill(f, getattr(f.commissionReport, "commission", 0.0) or 0.0)
                      for f in self._fills_by_ref(ref)
                      if f.execution.execId not in tracked.exec_ids)
        self._evaluate(ref, fills)

    def _evaluate(self, ref: str, fills: tuple[Fill, ...] = ()) -> None:
        tracked = self._tracked[ref]
        if tracked.status in FINAL:
            return
        new = tuple(f for f in fills if f.fill_id not in tracked.exec_ids)
        for f in new:
            tracked.exec_ids.add(f.fill_id)
            tracked.filled += f.quantity
        trade = tracked.trade
        status, message = self._status_of(tracked)
        if status == "filled":
            total = float(trade.order.totalQuantity) if trade is not None else tracked.filled
            if tracked.filled + EPSILON < total or tracked.waiting:
                status = "partial" if tracked.filled > EPSILON else "accepted"
        elif status == "accepted" and tracked.filled > EPSILON:
            status = "partial"
        elif status in ("canceled", "rejected") and tracked.waiting:
            status = "partial"  # its executions first: the fees are on their way
        if not new and status == tracked.status:
            return
        order_id = str(trade.order.orderId) if trade is not None and trade.order.orderId else None
        self._emit(ref, tracked, status, new, order_id, message)

    def _status_of(self, tracked: _Tracked) -> tuple[str, str]:
        trade = tracked.trade
        if trade is None:
            return tracked.status if tracked.status != "sent" else "sent", ""
        venue_status = trade.orderStatus.status
        if venue_status == "Filled":
            return "filled", ""
        if venue_status in ("Cancelled", "ApiCancelled", "Inactive"):
            error = next((e for e in reversed(trade.log) if e.errorCode), None)
            if error is not None and (venue_status == "Inactive" or not tracked.cancel_requested)\
                    and codes.classify(error.errorCode, is_order=True) == "order" \
                    and error.errorCode != 202:
                return "rejected", _reason(error.message, error.errorCode)
            if venue_status == "Inactive" and not tracked.cancel_requested:
                return "rejected", "IB set the order inactive"
            return "canceled", _reason(error.message, error.errorCode) if error is not None else ""
        return "accepted", ""

    def _emit(self, client_id: str, tracked: _Tracked, status: str,
              fills: tuple[Fill, ...] = (), order_id: str | None = None,
              message: str = "") -> None:
        if status == "sent":
            return
        tracked.status = status
        self.updates.put(OrderUpdate(client_id, status, order_id, fills, message))


def _reason(logged: str, code: int) -> str:
    """IB's own words from a trade log line ("Error 201, reqId 7: Order rejected - ...")."""
    text = re.sub(r"^(Error|Warning) -?\d+, reqId -?\d+: ", "", logged or "")
    text = re.sub(r", contract: .*$", "", text).strip()
    return f"{text or 'IB ended the order'} (IB code {code})"


def round_quantity(quantity: float, sec_type: str) -> float:
    """Whole shares, contracts and forex units; crypto to 8 decimals (always rounded down)."""
    if sec_type == "CRYPTO":
        return math.floor(quantity * 1e8 + 1e-6) / 1e8
    return float(math.floor(quantity + 1e-9))


def round_price(price: float, tick: float, up: bool = False) -> float:
    """``price`` on the contract's tick grid (down, or ``up``)."""
    if tick <= 0:
        return price
    steps = price / tick
    steps = math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)
    return round(steps * tick, 10)

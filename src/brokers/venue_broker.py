"""``VenueBroker``: what every broker trading at a real venue shares, whatever the venue.

Never waits on the network inside ``next()``: ``buy``/``sell``/``cancel`` hand an intent to the
venue's order gateway on the I/O thread (``_hand_over``) and return; what the venue answers comes
back as the kernel's ``OrderUpdate``s (``trading.core.reports``) through ``gateway.updates``,
which ``next()`` drains into Backtrader order notifications, booking each ``Fill`` into cash and
the position of the order's symbol the same way for every venue. Only start-up waits, through
``_wait``: the account (an ``AccountReport`` per symbol) gives the cash and the positions, and
the start-up reconciliation is the shared one (``brokers.reconcile``).

A broker trades one symbol or a basket (``symbols``) from one cash account: each symbol's data
is the Cerebro data named by it (a one-symbol bot's may be unnamed: the first data), its
position is kept on that data, and its orders are the ones placed on that data.

Orders are written ahead: what the strategy places is held until ``transmit_held``, which the
live loop calls once the bot has committed it, so the venue never has an order the database
does not.

A venue's gateway (``OrderGateway`` below) runs on the I/O thread and translates its wire
messages into those reports. A subclass builds its gateway (``_gateway``), says which orders it
cannot take (``_refusal``), sends orders the venue's way (``_send_held``) and cancels one there
(``_cancel_at_venue``); ``VENUE`` names the venue in messages.
"""
from __future__ import annotations

import collections
import logging
import queue
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol

import backtrader as bt
from backtrader.position import Position

from brokers.reconcile import BasketReconciliation, after_reconnect, reconcile_symbols
from trading.core.errors import ConfigError, VenueError
from trading.core.events import Event, StatusEvent
from trading.core.reports import AccountReport, Fill, OrderReport, OrderUpdate, UpdateQueue
from trading.core.timeutil import utcnow
from trading.core.types import OpenTrade, PendingOrder

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds to reach the account at start-up (the venue retries inside)
ANSWER_TIMEOUT = 10.0  # seconds a restart waits for the answers to what it re-placed
FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected"})


Accounts = Mapping[str, AccountReport]  # the venue's report of each symbol, by the bot's symbol


class OrderGateway(Protocol):
    """What a venue's order gateway offers the broker; its coroutines run on the I/O thread.

    The account is one ``AccountReport`` per symbol the bot trades, by its symbol, in the
    basket's order (each with the one cash); a gateway of one symbol may give its one report."""

    # order updates, and after a reconnect the account again (once every order is caught up)
    updates: UpdateQueue[OrderUpdate | Accounts | AccountReport]

    async def start(self) -> Accounts | AccountReport:
        """Connect, read the account (once), start following the bot's orders."""

    async def stop(self) -> None: ...

    async def report(self, client_id: str) -> OrderReport | None:
        """The order with this client id as the venue has it, None when it never got it (its
        symbol: the one whose tag the id carries, see ``trading.core.client_ids.symbol_of``)."""

    def may_exist(self, client_ids: Iterable[str]) -> None:
        """These orders may be at the venue already: look each up before sending it."""

    async def refresh_account(self) -> None:
        """Read the account again and put it on ``updates`` (after the orders it follows)."""


@dataclass
class LiveOrder:
    """An order the venue has (or is being sent): its Backtrader order and client id."""

    order: bt.Order
    client_id: str
    venue_id: str | None = None
    oca_group: str = ""  # orders that cancel each other at the venue
    canceling: bool = False


class VenueBroker(bt.BrokerBase):
    """See the module docstring. ``params``: ``venue``, the bot's connection; ``symbols``, the
    symbols it trades (empty: the ones the gateway reports)."""

    params = (("venue", None), ("symbols", ()))
    VENUE = "the venue"

    def __init__(self) -> None:
        super().__init__()
        if self.p.venue is None:
            raise VenueError(f"{type(self).__name__} needs venue=<the bot's {self.VENUE} "
                             "connection>")
        self.venue = self.p.venue
        self.gateway = self._gateway()
        self.notifs: collections.deque[bt.Order] = collections.deque()
        self.positions: collections.defaultdict = collections.defaultdict(Position)
        self.cash = 0.0
        self.locked_cash = 0.0  # held by the venue for open orders (counted in the value)
        self.startingcash = 0.0
        self.accounts: dict[str, AccountReport] | None = None
        self._live: dict[str, LiveOrder] = {}
        self._restored: dict[str, Position] = {}  # the bot's positions as reconciled at start-up
        self._handed_over: set[Any] = set()  # futures of intents on the I/O thread
        self._publish: Callable[[Event], None] | None = None
        self._recheck_due = False  # a reconnect's comparison waits for a market order in flight
        self._rechecked = False  # the comparison was put off once for an order's report
        self._awaited: set[str] = set()  # the reports it waits for
        self._held: list[bt.Order] = []  # placed, not sent yet (transmit_held)
        self._answers_first = False  # the next transmit waits for the venue's answers
        self._early: collections.deque[Any] = collections.deque()  # updates read while waiting

    def _gateway(self) -> OrderGateway:
        raise NotImplementedError

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols this broker trades, in the basket's order (the first: a one-symbol bot's)."""
        if self.p.symbols:
            return tuple(self.p.symbols)
        return tuple(self._accounts())

    def _accounts(self) -> dict[str, AccountReport]:
        """The account of each symbol as read at start-up (read once, on the I/O thread)."""
        if self.accounts is None:
            self.accounts = self._by_symbol(self._wait(self.gateway.start(),
                                                       f"{self.VENUE} account"))
        return self.accounts

    def _account(self, symbol: str | None = None) -> AccountReport:
        """One symbol's account report (the first symbol's by default)."""
        accounts = self._accounts()
        return accounts[symbol] if symbol is not None else next(iter(accounts.values()))

    def _by_symbol(self, found: Accounts | AccountReport) -> dict[str, AccountReport]:
        """A gateway's account by the bot's symbol (a one-symbol gateway's one report: the
        first symbol's); a symbol it did not report is a VenueError."""
        if isinstance(found, AccountReport):
            return {self.p.symbols[0] if self.p.symbols else found.symbol: found}
        reports = dict(found)
        missing = [s for s in self.p.symbols if s not in reports]
        if missing:
            raise VenueError(f"{self.VENUE} reported no account for {', '.join(missing)}")
        return reports

    # -- start-up and the I/O thread -----------------------------------------------------------
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
            raise VenueError(f"{self.VENUE} did not answer in time ({name}): {exc}") from exc
        if isinstance(error, (VenueError, ConfigError)):
            raise error
        if error is not None:
            raise VenueError(f"{name}: {error}") from error
        return result

    def restore(self, snapshot: Any) -> None:
        """A saved cash figure does not apply: the account's balances are the truth, and the
        position is the one the start-up reconciliation finds (``reconcile``)."""

    def reconcile(self, *, positions: Mapping[str, OpenTrade],
                  pending: tuple[PendingOrder, ...], order_prefix: str,
                  holdings: Mapping[str, tuple[float, float]] | None = None
                  ) -> BasketReconciliation:
        """Compare the saved positions and pending orders with the account, symbol by symbol;
        the venue wins.

        ``holdings`` is the broker's whole position in each symbol as saved (size, price; a
        venue's dust included). Keeps what it found: the summary for the status, the holdings
        ``start()`` restores; the orders that may be at the venue already are looked up before
        any re-send."""
        def lookup(client_id: str) -> OrderReport | None:
            return self._wait(self.gateway.report(client_id), f"lookup {client_id}")

        result = reconcile_symbols(self._accounts(), positions, pending, lookup, order_prefix,
                                   self.VENUE, holdings=holdings)
        self.gateway.may_exist(result.at_venue)
        self.venue.reconcile_result = result.summary
        self._restored = {s: Position(size, price) for s, (size, price) in result.holdings.items()}
        return result

    def start(self) -> None:
        """The cash is the account's (``initial_balance`` does not apply); the positions are the
        bot's own, as reconciled (what its orders made, never another holding in the account)."""
        super().start()
        accounts = self._accounts()
        first = self._account()
        self.cash, self.locked_cash = first.cash, first.cash_locked
        self.startingcash = self.cash + self.locked_cash
        for symbol, position in self._restored.items():
            self.positions[self._data_for(symbol)] = position
            self.startingcash += position.size * accounts[symbol].price
        where = f" {first.account}" if first.account else ""
        log.info("%s account%s: %.8g %s free", self.VENUE, where, self.cash, first.currency)
        for symbol, account in accounts.items():
            log.info("%s holds %.8g %s, %.8g of it this bot's", self.VENUE, account.position,
                     symbol, self._restored.get(symbol, Position()).size)

    def _hand_over(self, coro: Any, name: str) -> None:
        """Give an intent to the I/O thread; never waits (next() and buy/sell call it)."""
        future = self.venue.submit(coro, name=name)
        self._handed_over.add(future)
        future.add_done_callback(self._handed_over.discard)

    def stop(self) -> None:
        super().stop()
        for future in list(self._handed_over):  # an intent still retrying ends with the run
            future.cancel()
        try:
            self.venue.submit(self.gateway.stop(), name="stop order gateway").result(5.0)
        except Exception as exc:
            log.debug("stopping the order gateway: %s", exc)

    def _datas(self) -> list[bt.AbstractDataBase]:
        datas = getattr(getattr(self, "cerebro", None), "datas", None)
        if not datas:
            raise VenueError(f"{type(self).__name__}: install it with cerebro.setbroker() and "
                             "add the data first")
        return datas

    def _data(self) -> bt.AbstractDataBase:
        """The first symbol's data."""
        return self._datas()[0]

    def _data_for(self, symbol: str) -> bt.AbstractDataBase:
        """The data of ``symbol``: the one named by it (the first data for the first symbol)."""
        datas = self._datas()
        named = next((d for d in datas if getattr(d, "_name", "") == symbol), None)
        if named is not None:
            return named
        if symbol == self.symbols[0]:
            return datas[0]
        raise VenueError(f"{type(self).__name__} trades {symbol} but the bot has no data "
                         f"named {symbol} (its data: "
                         f"{', '.join(str(getattr(d, '_name', '')) for d in datas)})")

    def _symbol_of(self, data: bt.AbstractDataBase) -> str:
        """The symbol an order on ``data`` trades: the data's name, or for an unnamed data the
        first symbol (a one-symbol bot's)."""
        name = getattr(data, "_name", "")
        symbols = self.symbols
        if name in symbols:
            return name
        if len(symbols) == 1 or data is self._data():
            return symbols[0]
        raise VenueError(f"{type(self).__name__} trades {', '.join(symbols)}: an order on a "
                         f"data named {name!r} trades none of them")

    # -- what the strategy reads ---------------------------------------------------------------
    def getcash(self) -> float:
        return self.cash

    def getvalue(self, datas: Any = None) -> float:
        """The cash, the cash the venue holds for open orders, and every position at its
        symbol's last close."""
        value = self.cash + self.locked_cash
        for data, position in self.positions.items():
            if position.size:
                price = data.close[0] if len(data) else (position.price or 0.0)
                value += position.size * price
        return value

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
        refusal = self._refusal(order)
        if refusal is not None:
            self._reject(order, refusal)
        else:
            self._held.append(order)  # out with transmit_held, once the bot has saved it
        return order

    def _refusal(self, order: bt.Order) -> str | None:
        """Why this venue cannot take ``order`` (its type), or None; checked when it is placed."""
        return None

    def transmit_held(self) -> None:
        """Send the orders placed since the last call. The live loop calls this once the bot
        has committed what placed them (the bar's checkpoint, or what a fill between bars
        changed), so the database knows every order before the venue does: after a crash the
        restart finds each at the venue by its client id instead of meeting an order, or a
        position, it never heard of. An order canceled meanwhile never leaves."""
        held, self._held = self._held, []
        answers_first, self._answers_first = self._answers_first, False
        waiting = [order for order in held if order.alive()]
        if waiting:
            self._send_held(waiting)
            if answers_first:
                self._await_answers({order.info.client_order_id for order in waiting})

    def settle(self, timeout: float) -> bool:
        """The run ends: wait (bounded) for the answers to the market orders on their way;
        the next ``next()`` applies them. True when there was something to wait for."""
        waiting = {cid for cid, live in self._live.items()
                   if live.order.exectype in (None, bt.Order.Market)}
        if not waiting:
            return False
        deadline = time.monotonic() + timeout
        while waiting:
            try:
                update = self.gateway.updates.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                log.warning("%s has not answered %s within %.0f s of the end of the run; the "
                            "next start looks them up", self.VENUE, ", ".join(sorted(waiting)),
                            timeout)
                break
            self._early.append(update)
            if getattr(update, "status", "") in FINAL_STATUSES:
                waiting.discard(update.client_id)
        return True

    def answer_before_next_bar(self) -> None:
        """The orders placed now (what a restart re-places: a position's stop-loss and
        take-profit, a decided market order) are answered before the next bar is traded: one
        that filled while the bot was away is booked first, and the bar sees the position as
        the venue has it (the strategy calls this as it resumes)."""
        self._answers_first = True

    def _await_answers(self, client_ids: set[str]) -> None:
        """Wait (bounded) until the venue has said something of each of ``client_ids``; what
        it said is applied by the next ``next()``, in the order it came."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while client_ids:
            left = deadline - time.monotonic()
            try:
                update = self.gateway.updates.get(timeout=max(0.0, left))
            except queue.Empty:
                log.warning("%s has not answered %s within %.0f s of the restart; the bot trades "
                            "on and applies the answers when they come", self.VENUE,
                            ", ".join(sorted(client_ids)), ANSWER_TIMEOUT)
                return
            self._early.append(update)
            client_ids.discard(getattr(update, "client_id", None))

    def _send_held(self, orders: list[bt.Order]) -> None:
        """Send ``orders`` the venue's way (in the order they were placed)."""
        raise NotImplementedError

    def cancel(self, order: bt.Order, bracket: bool = False) -> bool:
        if order in self._held:  # never left the bot: cancel here, with any OCO partner held
            for held in [o for o in self._held if o is order or linked(o, order)]:
                self._held.remove(held)
                held.cancel()
                self.notify(held)
            return True
        return self._cancel_at_venue(order)

    def _cancel_at_venue(self, order: bt.Order) -> bool:
        raise NotImplementedError

    def _reject(self, order: bt.Order, reason: str) -> None:
        log.warning("order %s rejected: %s", order.info.client_order_id, reason)
        order.addinfo(message=reason)
        order.reject(self)
        self.notify(order)

    def events_to(self, publish: Callable[[Event], None]) -> None:
        """Where the broker's own news goes (a difference found after a reconnect)."""
        self._publish = publish

    def wake_with(self, wake: Any) -> None:
        """Call ``wake()`` (thread-safe, never blocking) whenever the venue reports, so the
        Cerebro loop applies a fill between bars instead of at the next bar."""
        self.gateway.updates.wake_with(wake)

    # -- what the venue answered (Cerebro thread) ----------------------------------------------
    def next(self) -> None:
        self.transmit_held()  # a loop that does not call it (a plain Cerebro) sends them here
        early, self._early = list(self._early), collections.deque()
        for update in early + self.gateway.updates.drain():
            if isinstance(update, OrderUpdate):
                self._apply(update)
            else:
                self._recheck(self._by_symbol(update))

    def _market_in_flight(self) -> bool:
        return any(live.order.exectype in (None, bt.Order.Market) for live in self._live.values())

    def _recheck(self, accounts: dict[str, AccountReport]) -> None:
        """After a reconnect: the venue's position in each symbol against the bot's (the shared
        comparison). While a market order is on its way its fill may be in the account already:
        the account is read again once that order is done."""
        if self._market_in_flight():
            log.info("after reconnecting to %s: a market order is on its way; the positions are "
                     "compared once it is done", self.VENUE)
            self._recheck_due = True
            return
        unreported = self._finished_unreported(accounts)
        if unreported and not self._rechecked:
            # the account was read after the venue filled one of the bot's orders and before
            # its report came: compare once that report is in, not now (a false alarm)
            log.info("after reconnecting to %s: %s finished there and its report is on its way; "
                     "the positions are compared once it is in", self.VENUE,
                     ", ".join(unreported))
            self._recheck_due = self._rechecked = True
            self._awaited = set(unreported)
            return
        self._rechecked = False
        differences = [(symbol, difference) for symbol, account in accounts.items()
                       if (difference := after_reconnect(
                           account, self.positions[self._data_for(symbol)].size,
                           self.VENUE)) is not None]
        if not differences:
            log.info("after reconnecting to %s: the account agrees with the bot", self.VENUE)
            return
        for symbol, difference in differences:
            log.warning("%s", difference)
            if self._publish is not None:
                self._publish(StatusEvent(time=utcnow(), status={"reconcile": difference,
                                                                  "symbol": symbol},
                                          change="reconcile", message=difference))
        self.venue.reconcile_result = "; ".join(d for _, d in differences)

    def _finished_unreported(self, accounts: dict[str, AccountReport]) -> list[str]:
        """The bot's orders the venue has taken that are no longer open there, though the bot
        has not heard how they ended."""
        still_open = {o.client_id for a in accounts.values() for o in a.open_orders}
        return sorted(cid for cid, live in self._live.items()
                      if live.venue_id and cid not in still_open and not live.canceling)

    def _apply(self, update: Any) -> None:
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
        if update.status == "partial" and update.fills:
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
            log.warning("order %s rejected by %s: %s", update.client_id, self.VENUE,
                        update.message)
            order.reject(self)
            self.notify(order)
        if not order.alive():
            self._live.pop(update.client_id, None)
            self._awaited.discard(update.client_id)
            if self._recheck_due and not self._market_in_flight() and not self._awaited:
                self._recheck_due = False
                self._hand_over(self.gateway.refresh_account(), "account after a reconnect")

    def _execute(self, order: bt.Order, fill: Fill) -> None:
        """Book one of the venue's fills: the cash pays the value and the part of the fee it
        pays (not a fee taken from the base asset or paid in a third one); a buy's fee taken
        from the base asset it received shrinks the position it opens; the cash of a fill made
        before start-up is in the balances already. The order's commission is the whole fee,
        whatever paid it."""
        size = fill.quantity - fill.fee_base if order.isbuy() else -fill.quantity
        if fill.before_start and fill.time:
            order.addinfo(filled_at=fill.time)  # the strategy books it in the bar it happened
        if not fill.before_start:
            value = fill.quantity * fill.price
            self.cash += (-value if order.isbuy() else value) - fill.fee_from_cash
        self._book(order, size, fill.price, fill.fee, fill.before_start)

    def _book(self, order: bt.Order, size: float, price: float, fee: float,
              adopted: bool) -> None:
        """Book one fill of ``size`` (negative sells) at ``price`` into the position and the
        order; ``adopted``: made while the bot was away (its cash is in the balances read at
        start-up already; the bot's position takes it now)."""
        data = order.data
        position = self.positions[data]
        old_price = position.price
        if adopted:
            log.info("order %s: adopting a fill of %.8g @ %.8g made while the bot was down",
                     order.info.client_order_id, abs(size), price)
        psize, pprice, opened, closed = position.update(size, price)
        pnl = -closed * (price - old_price) if closed else 0.0
        closedvalue = abs(closed) * old_price
        openedvalue = abs(opened) * price
        dt = data.datetime[0] if len(data) else 0.0
        order.execute(dt, size, price, closed, closedvalue, fee if closed else 0.0,
                      opened, openedvalue, 0.0 if closed else fee, 0.0, pnl, psize, pprice)


def linked(a: bt.Order, b: bt.Order) -> bool:
    """Whether two orders are one OCO group (either names the other as its ``oco``)."""
    return (getattr(a, "oco", None) is not None and a.oco.ref == b.ref) or \
        (getattr(b, "oco", None) is not None and b.oco.ref == a.ref)

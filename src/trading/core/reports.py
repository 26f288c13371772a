"""What a venue reports, as the kernel knows it, whatever the venue: fills, order updates, one
order looked up by its client id, the account; and the queue that carries order updates from
the I/O thread to the Cerebro thread.

Each venue's gateway translates its wire messages (Binance execution reports, TWS executions
and commission reports, ...) into these; the venue brokers, the reconciliation and the store
read only these. Putting an update on the queue wakes the consumer (the live feed's wait
between bars), so a fill is acted on when it arrives, not when the next bar does.
"""
from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class UpdateQueue(Generic[T]):
    """A thread-safe queue of order updates whose ``put`` also calls the consumer's wake-up.

    ``put`` runs on the I/O thread, ``drain`` on the Cerebro thread; ``wake_with(fn)`` sets the
    call (thread-safe, never blocking) that makes the Cerebro loop run now.
    """

    def __init__(self) -> None:
        self._items: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._wake: Callable[[], None] | None = None

    def wake_with(self, wake: Callable[[], None] | None) -> None:
        self._wake = wake

    def put(self, item: T) -> None:
        self._items.put(item)
        wake = self._wake
        if wake is not None:
            wake()

    def empty(self) -> bool:
        return self._items.empty()

    def get_nowait(self) -> T:
        return self._items.get_nowait()

    def get(self, timeout: float) -> T:
        """The oldest update, waiting up to ``timeout`` s for one (raises ``queue.Empty``)."""
        return self._items.get(timeout=timeout)

    def drain(self) -> list[T]:
        """Every update queued so far, oldest first (never waits)."""
        items: list[T] = []
        while True:
            try:
                items.append(self._items.get_nowait())
            except queue.Empty:
                return items


@dataclass(frozen=True)
class Fill:
    """One execution at a venue: ``quantity`` (always positive) at ``price``.

    ``fee`` is its whole fee's value in the quote currency (the account's currency: the trade's
    cost); ``fee_base`` the part of it a venue took from the base asset a buy received, in base
    units (Binance's default), which shrinks the position that buy opens; ``fee_elsewhere`` the
    part paid in a third asset (Binance's BNB), by its value in the quote currency, which the
    quote cash does not pay. ``time`` is when it traded, by the venue's clock (epoch seconds, 0
    when unknown); ``before_start`` marks a fill the account read at start-up already holds.
    """

    fill_id: str
    quantity: float
    price: float
    fee: float = 0.0
    fee_base: float = 0.0
    time: float = 0.0
    before_start: bool = False
    fee_elsewhere: float = 0.0

    @property
    def fee_from_cash(self) -> float:
        """The part of the fee the quote cash pays."""
        return self.fee - self.fee_base * self.price - self.fee_elsewhere


@dataclass(frozen=True)
class OrderUpdate:
    """What changed for one order: its status now and the fills not reported before.

    ``status``: accepted | partial | filled | canceled | expired | rejected."""

    client_id: str
    status: str
    venue_order_id: str | None = None
    fills: tuple[Fill, ...] = ()
    message: str = ""


OPEN_STATUSES = ("accepted", "partial")


@dataclass(frozen=True)
class OrderReport:
    """One of the bot's orders as a venue reports it, found by its client order id.

    ``status`` uses the update words (accepted, partial, filled, canceled, expired, rejected);
    ``kind`` is the venue's own name for the order type (for messages)."""

    client_id: str
    side: str  # BUY | SELL
    kind: str
    quantity: float
    filled: float
    status: str
    venue_order_id: str | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class AccountReport:
    """The account at a venue, for the traded instrument, as read at start-up.

    ``position``: what it holds of the instrument (a spot base balance, free and locked, or a
    contract position); ``price`` the instrument's price then, ``average_cost`` the account's
    average cost of the position when the venue knows it (0: unknown); ``cash`` / ``cash_locked``
    the quote currency free and held by open orders. Sizes within ``step`` (or
    ``relative_tolerance`` of the size) agree; a position under ``dust`` cannot be traded and
    counts as none. ``open_orders`` are every open order the venue lists for the instrument,
    the bot's and anyone else's."""

    symbol: str
    position: float
    price: float
    cash: float
    cash_locked: float = 0.0
    average_cost: float = 0.0
    open_orders: tuple[OrderReport, ...] = ()
    time: float = 0.0
    account: str = ""
    currency: str = ""
    step: float = 0.0
    relative_tolerance: float = 0.0
    dust: float = 0.0

    def is_dust(self, quantity: float) -> bool:
        """Too small to trade (and so not a position), within the venue's tolerance of 0."""
        return abs(quantity) < max(self.dust, self.step, 1e-12)

    @property
    def value(self) -> float:
        """Cash, held cash and the position at ``price``: the account's value in the quote."""
        return self.cash + self.cash_locked + self.position * self.price

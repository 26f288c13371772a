"""What the IB broker and its order gateway say to each other: intents going out
(``OrderIntent``), updates coming back (``OrderUpdate`` with ``VenueFill``s), and the account as
read at start-up (``AccountState``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VenueFill:
    """One execution (``execDetails``) with its fee (``commissionReport``)."""

    exec_id: str
    quantity: float  # always positive
    price: float
    fee: float  # in the account's currency
    time: float = 0.0  # epoch seconds (IB's clock)


@dataclass(frozen=True)
class OrderUpdate:
    """What changed for one order: its status now and the fills not reported before."""

    client_id: str
    status: str  # accepted | partial | filled | canceled | rejected
    venue_order_id: str | None = None
    fills: tuple[VenueFill, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class OrderIntent:
    """A new order. ``kind``: MKT, LMT or STP; ``oca_group`` links protective orders (one
    filling cancels the others at IB). ``client_id`` travels as the order's ``orderRef``."""

    client_id: str
    side: str  # BUY | SELL
    kind: str
    quantity: float
    price: float | None = None  # the limit price (LMT) or the trigger (STP)
    oca_group: str = ""


@dataclass(frozen=True)
class KnownOrder:
    """An order IB reports (open or completed), found by its ``orderRef``."""

    client_id: str
    side: str
    kind: str
    quantity: float
    filled: float
    status: str  # IB's status: Submitted, Filled, Cancelled ...
    order_id: int = 0

    @property
    def open(self) -> bool:
        return self.status in ("PendingSubmit", "ApiPending", "PreSubmitted", "Submitted")


@dataclass(frozen=True)
class AccountState:
    """The account as IB reports it at start-up, for the traded contract."""

    account: str
    position: float
    average_cost: float
    cash: float
    currency: str
    orders: tuple[KnownOrder, ...]  # this bot's orders IB knows (open or completed today)
    time: float = 0.0  # when it was read (epoch seconds)
    # executions IB reported at start-up: the position already includes them (IB's execution
    # times have whole seconds, too coarse to tell a fill just before start-up from one after)
    known_exec_ids: frozenset[str] = frozenset()

"""What the IB broker sends its order gateway: intents going out (``OrderIntent``), in IB's own
words. What comes back is the kernel's (``trading.core.reports``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderIntent:
    """A new order. ``kind``: MKT, LMT or STP; ``oca_group`` links protective orders (one
    filling cancels the others at IB). ``client_id`` travels as the order's ``orderRef``;
    ``symbol``: the bot's symbol whose contract it trades (empty: the first)."""

    client_id: str
    side: str  # BUY | SELL
    kind: str
    quantity: float
    price: float | None = None  # the limit price (LMT) or the trigger (STP)
    oca_group: str = ""
    symbol: str = ""

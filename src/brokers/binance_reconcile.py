"""Start-up reconciliation of a Binance account with the bot's database: the exchange wins.

Reports, nautilus-style: each saved pending order is looked up on the exchange, the base balance
is compared with the saved position plus what those orders filled, and open orders the database
does not know are listed. Every difference is logged, becomes a ``status`` event and is resolved:
a position the database does not know is adopted, one the exchange no longer holds is dropped, a
different size takes the exchange's. Pending orders stay pending: after warm-up the strategy
re-sends them with their client ids, and the broker finds them on the exchange and follows them
(or adopts their fills) instead of placing them twice.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from trading.core.events import Event, StatusEvent
from trading.core.timeutil import utcnow
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.binance.order_types import AccountState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciliation:
    """What to restore after comparing with the exchange, and what was found."""

    position: OpenTrade | None
    pending_orders: tuple[PendingOrder, ...]
    events: tuple[Event, ...]
    summary: str


def protective_ids(order_prefix: str, position: OpenTrade) -> tuple[str, str]:
    """The client ids of an open position's stop-loss and take-profit (CustomStrategy's scheme)."""
    stem = f"{order_prefix}-{int(position.entry_ts)}"
    return f"{stem}-sl", f"{stem}-tp"


def reconcile_account(account: AccountState, position: OpenTrade | None,
                      pending: tuple[PendingOrder, ...],
                      lookup: Callable[[str], dict[str, Any] | None],
                      order_prefix: str = "") -> Reconciliation:
    rules = account.rules
    base = rules.base
    notes: list[str] = []
    differences: list[str] = []
    expected = position.size if position is not None else 0.0
    for order in pending:
        found = lookup(order.client_order_id)
        if found is None:
            notes.append(f"pending {order.purpose} order {order.client_order_id} never reached "
                         "Binance; it will be sent after warm-up")
            continue
        executed = float(found.get("executedQty", 0))
        notes.append(f"pending {order.purpose} order {order.client_order_id} is "
                     f"{found.get('status')} on Binance ({executed:g} {base} filled); it will be "
                     "followed, not sent again")
        expected += executed if order.purpose == "entry" else -executed
    if position is not None and order_prefix:
        for cid in protective_ids(order_prefix, position):
            found = lookup(cid)
            if found is not None and float(found.get("executedQty", 0)):
                executed = float(found["executedQty"])
                notes.append(f"protective order {cid} filled {executed:g} {base} on Binance while "
                             "the bot was away; the fill is adopted after warm-up")
                expected -= executed
    actual = account.base_total
    tolerance = max(float(rules.step), 0.002 * max(actual, expected))
    held = not rules.dust(actual, account.price)
    new_position = position
    if abs(actual - expected) <= tolerance or (not held and rules.dust(max(expected, 0.0), account.price)):
        notes.append(f"balance {actual:g} {base} agrees with the database")
    elif position is not None and not held:
        differences.append(f"the database holds an open position of {position.size:g} {base} but "
                           f"Binance holds {actual:g} {base}: the position is closed (sold "
                           "outside the bot?) and dropped")
        new_position = None
    elif position is None:
        differences.append(f"Binance holds {actual:g} {base} the database does not know: adopted "
                           f"as the open position at {account.price:g} (the current price)")
        new_position = OpenTrade(symbol=rules.symbol, size=actual - expected,
                                 entry_price=account.price, entry_ts=time.time(),
                                 entry_reason="adopted from the exchange")
    else:
        size = position.size + (actual - expected)
        differences.append(f"the database's position is {position.size:g} {base} but Binance "
                           f"holds {actual:g} {base}: the position is now {size:g} {base}")
        new_position = dataclasses.replace(position, size=size)
    known = {p.client_order_id for p in pending}
    for order in account.open_orders:
        cid = order.get("clientOrderId", "")
        if cid in known or (position is not None and str(int(position.entry_ts)) in cid):
            continue
        differences.append(f"open {order.get('side')} {order.get('type')} order {cid} "
                           f"({order.get('origQty')} {base}) on Binance is not in the database; "
                           "left alone")
    for line in notes:
        log.info("reconcile %s: %s", rules.symbol, line)
    for line in differences:
        log.warning("reconcile %s: %s", rules.symbol, line)
    events = tuple(StatusEvent(time=utcnow(), status={"reconcile": line, "symbol": rules.symbol})
                   for line in differences)
    summary = (f"{len(differences)} difference(s) resolved: " + "; ".join(differences)
               if differences else "the account agrees with the database")
    return Reconciliation(position=new_position, pending_orders=pending, events=events,
                          summary=summary)

"""Start-up reconciliation of an IB account with the bot's database: the account wins.

Reports, as for Binance: each saved pending order is looked up at IB by its client order id
(``orderRef``), the position in the contract is compared with the saved one plus what those
orders (and the open position's protective orders) filled, and this bot's open orders at IB the
database does not know are listed. Every difference is logged, becomes a ``status`` event and is
resolved: a position the database does not know is adopted, one IB no longer holds is dropped, a
different size takes IB's. Pending orders stay pending: after warm-up the strategy sends them
again with their client ids, and the order gateway finds them at IB and follows them instead of
placing them twice.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable

from brokers.binance_reconcile import Reconciliation
from trading.core.events import StatusEvent
from trading.core.timeutil import utcnow
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.ibkr.order_types import AccountState, KnownOrder

log = logging.getLogger(__name__)

TOLERANCE = 1e-6


def protective_ids(order_prefix: str, position: OpenTrade) -> tuple[str, ...]:
    """The client ids of an open position's protective orders (CustomStrategy's scheme)."""
    stem = f"{order_prefix}-{int(position.entry_ts)}"
    return f"{stem}-sl", f"{stem}-tp", f"{stem}-ts"


def reconcile_account(account: AccountState, position: OpenTrade | None,
                      pending: tuple[PendingOrder, ...],
                      lookup: Callable[[str], KnownOrder | None], order_prefix: str = "",
                      symbol: str = "") -> Reconciliation:
    notes: list[str] = []
    differences: list[str] = []
    expected = position.size if position is not None else 0.0
    for order in pending:
        found = lookup(order.client_order_id)
        if found is None:
            notes.append(f"pending {order.purpose} order {order.client_order_id} never reached "
                         "IB; it will be sent after warm-up")
            continue
        notes.append(f"pending {order.purpose} order {order.client_order_id} is {found.status} "
                     f"at IB ({found.filled:g} filled); it will be followed, not sent again")
        expected += found.filled if order.purpose == "entry" else -found.filled
    protective: tuple[str, ...] = ()
    if position is not None and order_prefix:
        protective = protective_ids(order_prefix, position)
        for cid in protective:
            found = lookup(cid)
            if found is not None and found.filled:
                notes.append(f"protective order {cid} filled {found.filled:g} at IB while the "
                             "bot was away; the fill is adopted after warm-up")
                expected -= found.filled
    actual = account.position
    new_position = position
    if abs(actual - expected) <= TOLERANCE:
        notes.append(f"position {actual:g} {symbol} agrees with the database")
    elif position is not None and abs(actual) <= TOLERANCE:
        differences.append(f"the database holds an open position of {position.size:g} {symbol} "
                           f"but IB holds none: the position is closed (outside the bot?) and "
                           "dropped")
        new_position = None
    elif position is None:
        price = account.average_cost
        differences.append(f"IB holds {actual:g} {symbol} the database does not know: adopted "
                           f"as the open position at {price:g} (IB's average cost)")
        new_position = OpenTrade(symbol=symbol, size=actual - expected, entry_price=price,
                                 entry_ts=time.time(), entry_reason="adopted from the account")
    else:
        size = position.size + (actual - expected)
        differences.append(f"the database's position is {position.size:g} {symbol} but IB holds "
                           f"{actual:g}: the position is now {size:g}")
        new_position = dataclasses.replace(position, size=size)
    known = {p.client_order_id for p in pending} | set(protective)
    for order in account.orders:
        if not order.open or order.client_id in known:
            continue
        if order_prefix and not order.client_id.startswith(f"{order_prefix}-"):
            continue  # another program's order in the same account
        differences.append(f"open {order.side} {order.kind} order {order.client_id} "
                           f"({order.quantity:g} {symbol}) at IB is not in the database; left "
                           "alone")
    for line in notes:
        log.info("reconcile %s: %s", symbol, line)
    for line in differences:
        log.warning("reconcile %s: %s", symbol, line)
    events = tuple(StatusEvent(time=utcnow(), status={"reconcile": line, "symbol": symbol})
                   for line in differences)
    summary = (f"{len(differences)} difference(s) resolved: " + "; ".join(differences)
               if differences else "the account agrees with the database")
    return Reconciliation(position=new_position, pending_orders=pending, events=events,
                          summary=summary)

"""Start-up reconciliation of a venue account with the bot's database, written once for every
venue: the venue wins.

It works on the kernel's reports (``trading.core.reports``), which each venue's gateway makes
from its wire messages: the account (``AccountReport``) and each of the bot's orders looked up
by its client order id (``OrderReport``). Nautilus-style, every saved pending order is looked up
at the venue, the position is compared with the saved one plus what those orders (and the open
position's protective orders) filled, and open orders the database does not know are listed.
Which orders are the bot's is one rule for every venue (``trading.core.client_ids.is_ours``);
anyone else's orders in the same account are noted and left alone.

The bot's position is what its own orders made, as the venue reports them: every difference is
logged, becomes a ``status`` event and is resolved. A holding the bot's orders do not explain is
someone else's (a manual buy, another program, a deposit): reported, never taken for the bot's.
A position the venue no longer holds is dropped, one it holds less of is cut to what is there
(it was sold outside the bot). Pending orders stay pending: after warm-up the strategy re-sends them with their client
ids, and the gateway finds them at the venue and follows them (or adopts their fills) instead of
placing them twice.

A basket (a bot trading several symbols from one cash account) is reconciled symbol by symbol
(``reconcile_symbols``): each symbol's saved position, holding and pending orders against the
venue's report of that symbol, its protective orders found by the ids its tag makes.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from trading.core.client_ids import is_ours, protective_ids, symbol_tag
from trading.core.events import Event, StatusEvent
from trading.core.reports import AccountReport, OrderReport
from trading.core.timeutil import utcnow
from trading.core.types import OpenTrade, PendingOrder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciliation:
    """What to restore after comparing with the venue, and what was found.

    ``at_venue``: client ids that may already be at the venue (the pending orders and the
    open position's protective orders): the gateway looks each up before sending it again."""

    position: OpenTrade | None
    pending_orders: tuple[PendingOrder, ...]
    events: tuple[Event, ...]
    summary: str
    at_venue: tuple[str, ...] = ()
    # the bot's whole holding to start from (the fills of its pending and protective orders
    # made while it was away are booked on top, as its orders adopt them after warm-up)
    holding: float = 0.0


def reconcile_account(account: AccountReport, position: OpenTrade | None,
                      pending: tuple[PendingOrder, ...],
                      lookup: Callable[[str], OrderReport | None], order_prefix: str,
                      venue: str, holding: float | None = None, tag: str = "") -> Reconciliation:
    """Compare the saved ``position`` and ``pending`` orders with ``account`` (see the module
    docstring). ``lookup(client_id)`` is the order as the venue has it, None when it never got
    it; ``venue`` names the venue in messages; ``holding`` the bot's whole holding as saved
    (its trade and the dust its lots left; None: only the trade's size is known); ``tag`` the
    symbol's part of its order ids in a basket (``trading.core.client_ids``)."""
    symbol = account.symbol
    notes: list[str] = []
    differences: list[str] = []
    base = holding if holding is not None else (position.size if position is not None else 0.0)
    expected = base
    for order in pending:
        found = lookup(order.client_order_id)
        if found is None:
            notes.append(f"pending {order.purpose} order {order.client_order_id} never reached "
                         f"{venue}; it will be sent after warm-up")
            continue
        notes.append(f"pending {order.purpose} order {order.client_order_id} is {found.status} "
                     f"at {venue} ({found.filled:g} filled); it will be followed, not sent again")
        expected += found.filled if order.purpose == "entry" else -found.filled
    protective: tuple[str, ...] = ()
    if position is not None:
        protective = protective_ids(order_prefix, position.entry_ts, tag)
        for cid in protective:
            found = lookup(cid)
            if found is not None and found.filled:
                notes.append(f"protective order {cid} filled {found.filled:g} at {venue} while "
                             "the bot was away; the fill is adopted after warm-up")
                expected -= found.filled
    actual = account.position
    new_position = position
    start = base if agrees(account, actual, expected) or actual > expected \
        else max(0.0, base - (expected - actual))
    if agrees(account, actual, expected):
        notes.append(f"position {actual:g} {symbol} agrees with the database")
    elif actual > expected:
        # more than the bot's own orders explain: someone else's (a manual buy, another bot,
        # a deposit), never taken for the bot's; it keeps what its orders made
        differences.append(
            f"{venue} holds {actual:g} {symbol}, {actual - expected:g} more than this bot's "
            f"orders explain: not the bot's, left alone (the bot's position stays "
            f"{f'{position.size:g}' if position is not None else 'none'})")
    elif position is not None and account.is_dust(actual):
        differences.append(f"the database holds an open position of {position.size:g} {symbol} "
                           f"but {venue} holds {actual:g}: the position is closed (outside the "
                           "bot?) and dropped")
        new_position = None
    elif position is not None:
        size = min(position.size, start)  # the trade cannot hold more than the bot does
        differences.append(f"the database's position is {position.size:g} {symbol} but {venue} "
                           f"holds {actual:g}: the position is now {size:g} (sold outside the "
                           "bot?)")
        new_position = dataclasses.replace(position, size=size)
    else:
        differences.append(f"this bot's orders bought {expected:g} {symbol} while it was away "
                           f"but {venue} holds {actual:g} (sold outside the bot?); the fills are "
                           "booked as the venue reports them")
    known = {p.client_order_id for p in pending} | set(protective)
    foreign = 0
    for order in account.open_orders:
        if order.client_id in known:
            continue
        if not is_ours(order.client_id, order_prefix):
            foreign += 1  # another program's order in the same account
            continue
        differences.append(f"open {order.side} {order.kind} order {order.client_id} "
                           f"({order.quantity:g} {symbol}) at {venue} is not in the database; "
                           "left alone")
    if foreign:
        notes.append(f"{foreign} open order(s) of other programs in the account, left alone")
    for line in notes:
        log.info("reconcile %s: %s", symbol, line)
    for line in differences:
        log.warning("reconcile %s: %s", symbol, line)
    events = tuple(StatusEvent(time=utcnow(), status={"reconcile": line, "symbol": symbol})
                   for line in differences)
    summary = (f"{len(differences)} difference(s) resolved: " + "; ".join(differences)
               if differences else "the account agrees with the database")
    return Reconciliation(position=new_position, pending_orders=pending, events=events,
                          summary=summary, at_venue=tuple(known),
                          holding=start if new_position is not None or start > 0 else 0.0)


@dataclass(frozen=True)
class BasketReconciliation:
    """What to restore for every symbol of a bot after comparing with the venue: the positions
    and the whole holdings (size, average price) by symbol (only the symbols with one), the
    pending orders (every symbol's), what was found (events, one summary), the client ids that
    may be at the venue."""

    positions: dict[str, OpenTrade]
    holdings: dict[str, tuple[float, float]]
    pending_orders: tuple[PendingOrder, ...]
    events: tuple[Event, ...]
    summary: str
    at_venue: tuple[str, ...] = ()


def reconcile_symbols(accounts: Mapping[str, AccountReport], positions: Mapping[str, OpenTrade],
                      pending: tuple[PendingOrder, ...],
                      lookup: Callable[[str], OrderReport | None], order_prefix: str,
                      venue: str, holdings: Mapping[str, tuple[float, float]] | None = None
                      ) -> BasketReconciliation:
    """``reconcile_account`` for each symbol of ``accounts`` (the venue's report of each, by the
    bot's symbol, in the basket's order; one cash): its saved position, its holding
    (``holdings``: (size, price) as saved, None when none was saved; a holding restored keeps
    its saved price, else its trade's entry price) and its pending orders (one without a symbol
    is the first symbol's, as one-symbol bots saved them). Ids carry each symbol's tag when
    there are several. A position of a symbol not among ``accounts`` is not looked at, and its
    pending orders are kept as they are (the caller decides about a symbol the config
    dropped)."""
    symbols = list(accounts)
    basket = len(symbols) > 1
    found: dict[str, Reconciliation] = {}
    for symbol in symbols:
        mine = tuple(p for p in pending if (p.symbol or symbols[0]) == symbol)
        saved = holdings.get(symbol) if holdings else None
        found[symbol] = reconcile_account(accounts[symbol], positions.get(symbol), mine, lookup,
                                          order_prefix, venue,
                                          holding=saved[0] if saved else None,
                                          tag=symbol_tag(symbol) if basket else "")
    differing = [(s, r) for s, r in found.items() if r.events]
    if not differing:
        summary = "the account agrees with the database"
    elif not basket:
        summary = differing[0][1].summary
    else:
        summary = "; ".join(f"{s}: {r.summary}" for s, r in differing)
    held = {}
    for symbol, result in found.items():
        if result.holding:
            saved = holdings.get(symbol) if holdings else None
            price = saved[1] if saved and saved[1] else \
                (result.position.entry_price if result.position is not None else 0.0)
            held[symbol] = (result.holding, price)
    return BasketReconciliation(
        positions={s: r.position for s, r in found.items() if r.position is not None},
        holdings=held,
        pending_orders=tuple(p for r in found.values() for p in r.pending_orders)
        + tuple(p for p in pending if (p.symbol or symbols[0]) not in found),
        events=tuple(e for r in found.values() for e in r.events), summary=summary,
        at_venue=tuple(c for r in found.values() for c in r.at_venue))


def agrees(account: AccountReport, actual: float, expected: float) -> bool:
    """Whether the venue's ``actual`` position and the ``expected`` one are the same, within
    the venue's tolerance (a lot step, a fee's rounding) or both too small to trade."""
    tolerance = max(account.step, account.relative_tolerance * max(abs(actual), abs(expected)))
    return abs(actual - expected) <= tolerance or (account.is_dust(actual)
                                                   and account.is_dust(max(expected, 0.0)))


def after_reconnect(account: AccountReport, held: float, venue: str) -> str | None:
    """The same comparison after a reconnect, once the gateway has caught up on every order the
    bot follows: the position the venue reports against the one the bot holds. None when they
    agree, else what differs (the bot keeps trading; the owner is told)."""
    if agrees(account, account.position, held):
        return None
    return (f"after reconnecting, {venue} holds {account.position:g} {account.symbol} but the "
            f"bot holds {held:g}: an order outside the bot, or a fill the venue never reported; "
            "check the account")

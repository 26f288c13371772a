"""The bot's client order ids, written once: how they are made, read back and recognised.

Every order the bot sends carries ``<prefix>-<time>-<purpose>``: the bot's prefix (its id, or
for a long one its first 8 characters and a hash of the whole), the epoch second of the bar
that decided it (an entry or exit) or of the position's entry (its protective orders), and what
it is for. In a basket (a bot trading several symbols) the purpose carries a 3-character tag
of the symbol (``entry`` + ``k3x``), the same whatever the basket's order, so each symbol's orders
have ids of their own; a one-symbol bot's ids have no tag. The same decision on the same bar makes the same id after a restart, so a venue
finds an order it already has instead of taking it twice, and reconciliation tells the bot's
orders from anyone else's in the same account.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

MAX_PREFIX = 16  # <prefix>-<10-digit time>-<purpose> then fits the venues' 36 characters
ENTRY, EXIT = "entry", "exit"
STOP_LOSS, TAKE_PROFIT, TRAILING_STOP = "sl", "tp", "ts"
PROTECTIVE = (STOP_LOSS, TAKE_PROFIT, TRAILING_STOP)
PURPOSES = (ENTRY, EXIT) + PROTECTIVE


def order_prefix(bot_id: str) -> str:
    """The start of the bot's client order ids: the bot id, or for a long one its first 8
    characters and a hash of the whole (still deterministic, so a restart finds its orders)."""
    if len(bot_id) <= MAX_PREFIX:
        return bot_id
    return f"{bot_id[:8]}-{hashlib.sha1(bot_id.encode()).hexdigest()[:7]}"


TAG_LENGTH = 3
_TAG_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def symbol_tag(symbol: str) -> str:
    """The 3-character tag of ``symbol`` in a basket's order ids (base 36 of a hash: stable)."""
    number = int.from_bytes(hashlib.sha1(symbol.encode()).digest()[:4], "big")
    tag = ""
    for _ in range(TAG_LENGTH):
        number, digit = divmod(number, 36)
        tag += _TAG_DIGITS[digit]
    return tag


def client_id(prefix: str, ts: float, purpose: str, tag: str = "") -> str:
    """``<prefix>-<ts>-<purpose><tag>``: the id of the order for ``purpose`` decided at ``ts``
    (``tag``: the symbol's in a basket, see ``symbol_tag``)."""
    return f"{prefix}-{int(ts)}-{purpose}{tag}"


def protective_ids(prefix: str, entry_ts: float, tag: str = "") -> tuple[str, ...]:
    """The ids of the stop-loss, take-profit and trailing stop of the position entered at
    ``entry_ts`` (each exists only when its rule is on)."""
    return tuple(client_id(prefix, entry_ts, p, tag) for p in PROTECTIVE)


@dataclass(frozen=True)
class ClientId:
    """A client order id read back into its parts."""

    prefix: str
    ts: int
    purpose: str
    tag: str = ""  # the symbol's in a basket

    @property
    def protective(self) -> bool:
        return self.purpose in PROTECTIVE


def parse(text: str) -> ClientId | None:
    """The parts of one of the bot's ids, or None for an id this scheme did not make."""
    prefix, sep, rest = text.rpartition("-")
    if not sep:
        return None
    prefix, sep, ts = prefix.rpartition("-")
    if not sep or not prefix or not ts.isascii() or not ts.isdigit():
        return None
    purpose, tag = rest, ""
    if purpose not in PURPOSES and len(rest) > TAG_LENGTH:
        purpose, tag = rest[:-TAG_LENGTH], rest[-TAG_LENGTH:]
        if not all(c in _TAG_DIGITS for c in tag):
            return None
    if purpose not in PURPOSES:
        return None
    return ClientId(prefix, int(ts), purpose, tag)


def is_ours(text: str, prefix: str) -> bool:
    """Whether ``text`` is an order id this bot (``prefix``) made: one rule for every venue."""
    parsed = parse(text)
    return parsed is not None and parsed.prefix == prefix


def symbol_of(text: str, symbols: Sequence[str]) -> str | None:
    """Which of a bot's ``symbols`` the order id ``text`` belongs to: in a basket the symbol
    whose tag it carries (an id without a tag, made before the bot traded a basket or not the
    bot's: the first symbol), in a one-symbol bot its symbol; None for a tag of none of them."""
    if len(symbols) < 2:
        return symbols[0] if symbols else None
    parsed = parse(text)
    if parsed is None or not parsed.tag:
        return symbols[0]
    return next((s for s in symbols if symbol_tag(s) == parsed.tag), None)

"""A bot's symbols and open positions named for people: short enough for a table cell or a title.

One symbol is named as it always was (``ETHBTC``); a basket by its first symbols and how many
more there are, so that a long basket never widens a table or a message beyond reading.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

LABEL_SYMBOLS = 3  # a basket this long is listed whole in a label; a longer one is cut
LISTED_SYMBOLS = 5  # the start message lists this many of a basket's symbols


def status_symbols(status: Mapping[str, Any]) -> tuple[str, ...]:
    """The symbols a status document names: its ``symbols`` (every symbol the bot trades), else
    its ``symbol`` alone (a file written before ``symbols`` existed)."""
    symbols = status.get("symbols")
    if isinstance(symbols, (list, tuple)) and symbols:
        return tuple(str(s) for s in symbols)
    return (str(status.get("symbol") or "?"),)


def status_positions(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every open position a status document lists (each with its symbol), in the basket's
    order: its ``positions``, else its one ``position`` (a file written before ``positions``)."""
    positions = status.get("positions")
    if isinstance(positions, list):
        return [dict(p) for p in positions if isinstance(p, Mapping)]
    position = status.get("position")
    if not isinstance(position, Mapping):
        return []
    return [{"symbol": status_symbols(status)[0], **position}]


def is_basket(symbols: Sequence[str]) -> bool:
    """True when ``symbols`` is a basket (more than one symbol)."""
    return len(symbols) > 1


def _cut(names: Sequence[str], shown: int) -> str:
    listed = ", ".join(names[:shown])
    return listed if len(names) <= shown else f"{listed} +{len(names) - shown}"


def basket_label(symbols: Sequence[str]) -> str:
    """The bot's symbols in a few characters: ``ETHBTC``; ``ETCBTC, XLMBTC, TRXBTC`` (a basket
    of up to three); ``ETCBTC +4`` (a longer one: its first symbol and how many more)."""
    if len(symbols) <= LABEL_SYMBOLS:
        return ", ".join(symbols)
    return _cut(symbols, 1)


def basket_listing(symbols: Sequence[str]) -> str:
    """The bot's symbols for a sentence: ``ETHBTC``; ``5 symbols (ETCBTC, XLMBTC, TRXBTC,
    ZECBTC, DASHBTC)``; ``12 symbols (A, B, C, D, E +7)``."""
    if not is_basket(symbols):
        return ", ".join(symbols)
    return f"{len(symbols)} symbols ({_cut(symbols, LISTED_SYMBOLS)})"


def open_symbols(positions: Sequence[Mapping[str, Any]]) -> str:
    """How many positions are open and in which symbols: ``flat``; ``2 open: ETCBTC, ZECBTC``;
    ``5 open: ETCBTC, XLMBTC, ZECBTC +2``."""
    if not positions:
        return "flat"
    names = [str(p.get("symbol", "?")) for p in positions]
    return f"{len(names)} open: {_cut(names, LABEL_SYMBOLS)}"

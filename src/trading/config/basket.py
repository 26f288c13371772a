"""The symbols a config trades, and the rules a basket (more than one symbol) adds.

A config names one symbol (``trading.symbol``) or a basket (``trading.symbols``, in the order
that breaks ties between entries on one bar). The data keys must agree with it, a basket reads
one data file per symbol (``{symbol}`` in ``data.file_path``) and, in this version, takes its
bars from the file source or a venue whose source serves baskets (``Venue.basket_data``) and
trades with a simulated broker or a venue's broker that trades baskets (``Venue.basket_orders``).
Each check yields (JSON path, message) pairs for the validator; each reads the raw document and
skips what pass 1 (the schema) reports.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from trading.config.files import Problem
from trading.config.files import section as _section
from trading.core.settings import FILE_SOURCE, SIMULATED_BROKERS, SYMBOL_PLACEHOLDER
from trading.core.text import excerpt
from trading.venues.registry import venues

EXAMPLE_PATH = f"data/{SYMBOL_PLACEHOLDER}-5m.csv"
_BRACED = re.compile(r"\{[^{}]*\}")


def basket_brokers() -> tuple[str, ...]:
    """The broker types that trade a basket: the simulated ones, and those of each venue whose
    broker trades one (``Venue.basket_orders``)."""
    return tuple(SIMULATED_BROKERS) + tuple(
        name for venue in venues() if venue.basket_orders for name in venue.broker_types)


def listed(names: tuple[str, ...]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def basket_sources() -> tuple[str, ...]:
    """The data sources a basket can take its bars from: the files, and every venue's whose
    source serves a basket (its declaration's ``basket_data``)."""
    return (FILE_SOURCE, *(name for venue in venues() if venue.basket_data
                           for name in venue.data_sources))


def _names(value: Any) -> list[str] | None:
    """``value`` when it is a non-empty list of strings, else None (pass 1 reports the rest)."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def traded_symbols(trading: Mapping[str, Any]) -> tuple[str, ...]:
    """The symbols of a valid ``trading`` section: ``symbols``, else ``(symbol,)``."""
    return tuple(trading.get("symbols") or (trading["symbol"],))


def _given(trading: Mapping[str, Any]) -> tuple[list[str] | None, str]:
    """The symbols as written, and the key that names them in messages (None: not usable)."""
    if "symbols" in trading:
        return _names(trading["symbols"]), "trading.symbols"
    symbol = trading.get("symbol")
    return ([symbol] if isinstance(symbol, str) else None), "trading.symbol"


def _shown(symbols: list[str]) -> str:
    return "[" + ", ".join(excerpt(s) for s in symbols) + "]"


def symbol_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """``trading.symbol`` or ``trading.symbols``, and ``data.symbol``/``data.symbols`` agreeing."""
    if not isinstance(doc.get("trading"), dict):  # pass 1 says what it is
        return
    trading, data = _section(doc, "trading"), _section(doc, "data")
    if "symbol" not in trading and "symbols" not in trading:
        yield ("trading",), "missing required key 'symbol' (one symbol) or 'symbols' (a basket)"
        return
    symbol, listed = trading.get("symbol"), _names(trading.get("symbols"))
    if isinstance(symbol, str) and listed is not None and listed != [symbol]:
        yield ("trading", "symbols"), (
            f"give trading.symbol (one symbol) or trading.symbols (a basket), not both: symbol "
            f"{excerpt(symbol)} and symbols {_shown(listed)} differ; remove one")
        return
    symbols, key = _given(trading)
    if symbols is None:
        return
    if "symbol" in data and isinstance(data["symbol"], str):
        if len(symbols) > 1:
            yield ("data", "symbol"), (
                f"must not be given with a basket: the bot watches every symbol of "
                f"trading.symbols ({len(symbols)} symbols); remove data.symbol")
        elif data["symbol"] != symbols[0]:
            yield ("data", "symbol"), (
                f"must equal {key} ({excerpt(symbols[0])}), got {excerpt(data['symbol'])}; the bot "
                f"trades the symbol it watches (remove data.symbol to use {key})")
    feed = _names(data.get("symbols"))
    if feed is not None and feed != symbols:
        yield ("data", "symbols"), (
            f"must equal {key} ({_shown(symbols)}), in the same order, got {_shown(feed)}; remove "
            f"data.symbols to use {key}")


def file_path_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """``{symbol}`` is the one placeholder of ``data.file_path``, and a basket needs it."""
    path = _section(doc, "data").get("file_path")
    if not isinstance(path, str) or not path:
        return
    others = [token for token in _BRACED.findall(path) if token != SYMBOL_PLACEHOLDER]
    if others or "{" in _BRACED.sub("", path) or "}" in _BRACED.sub("", path):
        unknown = list(dict.fromkeys(others))
        what = (f"{', '.join(map(excerpt, unknown))} "
                f"{'is not a placeholder' if len(unknown) == 1 else 'are not placeholders'}"
                if unknown else "has a '{' or '}' that opens or closes no placeholder")
        yield ("data", "file_path"), (
            f"{what}: the only one is {SYMBOL_PLACEHOLDER}, where each symbol's name goes (one "
            f"file per symbol: {EXAMPLE_PATH}); got {excerpt(path)}")
        return
    symbols, _ = _given(_section(doc, "trading"))
    if symbols is not None and len(symbols) > 1 and SYMBOL_PLACEHOLDER not in path:
        yield ("data", "file_path"), (
            f"a basket reads one file per symbol: put {SYMBOL_PLACEHOLDER} in the path where the "
            f"symbol's name goes (e.g. {EXAMPLE_PATH}); got {excerpt(path)}")


def basket_venue_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """A basket on a data source, or with a broker, whose venue serves one symbol per bot.

    One check, to remove when every venue takes baskets (issue 17)."""
    symbols, _ = _given(_section(doc, "trading"))
    if symbols is None or len(symbols) < 2:
        return
    source = _section(doc, "data").get("data_source")
    broker = _section(doc, "broker").get("type")
    sources = basket_sources()
    if isinstance(source, str) and source not in sources:
        yield ("data", "data_source"), (
            f"a basket ({len(symbols)} symbols) takes its bars from data_source {listed(sources)} "
            f"in this version, got {excerpt(source)}, whose source serves one symbol per bot "
            "(until it serves baskets, one bot per symbol)")
    brokers = basket_brokers()
    if isinstance(broker, str) and broker not in brokers:
        yield ("broker", "type"), (
            f"a basket ({len(symbols)} symbols) trades with broker {listed(brokers)} in this "
            f"version, got {excerpt(broker)}, whose venue trades one symbol per bot (until "
            "then, one bot per symbol)")


def basket_warnings(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """Settings that cannot take effect with this many symbols."""
    symbols, _ = _given(_section(doc, "trading"))
    if symbols is None:
        return
    count = len(set(symbols))
    positions = _section(doc, "trading").get("max_positions")
    if isinstance(positions, int) and not isinstance(positions, bool) and positions > count:
        traded = "1 symbol" if count == 1 else f"{count} symbols"
        yield ("trading", "max_positions"), (
            f"a bot holds at most one position per symbol: with {traded}, max_positions "
            f"{positions} allows no more than {count} open at once")
    align = _section(doc, "data").get("align_seconds")
    if count == 1 and align is not None:
        yield ("data", "align_seconds"), (
            "has no effect with one symbol (it is how long a basket's time step waits for its "
            "symbols' bars); each bar is traded as it arrives")

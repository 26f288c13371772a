"""Interactive Brokers through TWS or IB Gateway: bars (history kept up to date) and a broker.

The connection (``connection.IbkrVenue``, on ib_async), where it listens and the ``ibkr``
config section (``settings``), the traded contract (``contracts``), what IB's message codes mean
(``codes``), bars (``bars``, ``source``), the order gateway that turns TWS's messages into the
kernel's reports (``orders``, ``order_types``) and the broker (``broker``). Only this package
knows ib_async; ``VENUE`` below is all the rest of the bot knows of it.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from trading.core.settings import INTERVALS, BrokerConfig, DataConfig
from trading.venues.ibkr.settings import (SECTION, SECTION_SCHEMA, IbkrConfig,
                                          is_paper_account)
from trading.venues.registry import Problem, Venue, VenueRequest

BROKER = "ibkr"
UNSERVED_INTERVALS = ("6h", "12h")  # IB has no such bar size


def connect(request: VenueRequest) -> Any:
    """One TWS / IB Gateway connection, shared by the bars and the broker: the contract of each
    symbol the bot watches (a basket's: every one, each qualified at start)."""
    from trading.venues.ibkr.connection import IbkrVenue
    from trading.venues.ibkr.contracts import ContractSpec
    from trading.venues.ibkr.settings import resolve_address, retry_cap

    settings = request.settings if request.settings is not None else IbkrConfig()
    # every symbol the bot trades or watches (a basket's data may come with a simulated broker)
    symbols = tuple(dict.fromkeys((*request.symbols, *request.data.symbols)))
    spec, *others = [ContractSpec.from_config(symbol, settings) for symbol in symbols]
    for each in (spec, *others):
        each.contract()  # an unsupported sec_type or a malformed pair fails now, not at start
    return IbkrVenue(resolve_address(settings, request.env), spec, others=others,
                     backoff_cap=retry_cap(request.env))


def bar_source(connection: Any, data: DataConfig, settings: Any) -> Any:
    from trading.venues.ibkr.source import IbkrBarSource

    return IbkrBarSource(connection, data.interval_seconds, data.lookback_bars,
                         data.retry_interval)


def broker(connection: Any, config: BrokerConfig, symbols: tuple[str, ...]) -> Any:
    from trading.venues.ibkr.broker import IbkrBroker

    return IbkrBroker(venue=connection, symbols=symbols)


def real_money(broker_type: str, connection: Any) -> bool | None:
    """Only the account TWS is logged in to tells: a paper account (DU...) trades no money."""
    if broker_type != BROKER:
        return False
    return None if connection is None else not is_paper_account(connection.account)


def problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    broker_type = (doc.get("broker") or {}).get("type") if isinstance(doc.get("broker"), dict) \
        else None
    section = doc.get(SECTION) if isinstance(doc.get(SECTION), dict) else {}
    if broker_type == BROKER and section.get("sec_type") == "FUT":
        yield (SECTION, "sec_type"), FUTURES_NOT_TRADED
    contracts = section.get("contracts")
    if not isinstance(contracts, dict):
        return  # absent, or pass 1 (the schema) says what is wrong
    symbols = _traded_symbols(doc)
    for symbol, entry in contracts.items():
        if symbols is not None and symbol not in symbols:
            yield (SECTION, "contracts", symbol), (
                f"names no symbol the bot trades ({', '.join(symbols)}); each key of "
                "ibkr.contracts is one of trading.symbols, spelt the same: fix the name or "
                "remove the entry")
        if broker_type == BROKER and isinstance(entry, dict) and entry.get("sec_type") == "FUT":
            yield (SECTION, "contracts", symbol, "sec_type"), FUTURES_NOT_TRADED


FUTURES_NOT_TRADED = (
    "the ibkr broker does not trade futures in this version (it would book a future like a "
    "stock: its full value as cash, no multiplier in the pnl); trade a STK, CASH or CRYPTO "
    "contract, or take FUT bars with broker.type paper")


def _traded_symbols(doc: Mapping[str, Any]) -> list[str] | None:
    """The symbols of the config's ``trading`` section, None when it names none usable (pass 1
    and the basket's checks say why)."""
    trading = doc.get("trading") if isinstance(doc.get("trading"), dict) else {}
    symbols = trading.get("symbols")
    if symbols is None and isinstance(trading.get("symbol"), str):
        symbols = [trading["symbol"]]
    if isinstance(symbols, list) and symbols and all(isinstance(s, str) for s in symbols):
        return symbols
    return None


VENUE = Venue(
    name="ibkr",
    title="Interactive Brokers (TWS / IB Gateway)",
    data_sources={"ibkr": "bars from TWS / IB Gateway: history, then kept up to date (a basket: "
                          "one request per symbol's contract on the one connection)"},
    broker_types={BROKER: "orders through Interactive Brokers TWS / IB Gateway (real money on "
                          "a live account)"},
    real_money=real_money,
    live_account="TWS / IB Gateway is logged in to a live account (an id not starting with DU)",
    section=SECTION,
    section_schema=SECTION_SCHEMA,
    settings=IbkrConfig.from_section,
    intervals=tuple(i for i in INTERVALS if i not in UNSERVED_INTERVALS),
    problems=problems,
    align_seconds=5.0,
    basket_orders=True,
    basket_data=True,
    connect=connect,
    bar_source=bar_source,
    broker=broker,
)

"""A venue adapter to copy: everything a venue needs, in the shape every venue has.

To add a venue (say Kraken), copy this folder to ``trading/venues/kraken/`` (or to a package of
your own, registered under the ``tradingbot.venues`` entry point group), rename "template"
below, and replace the insides of ``connection.py`` (the venue's client library), ``orders.py``
(its orders and what it answers, as the kernel's reports) and ``source.py`` (how its bars
arrive). Nothing else in the bot changes: the config schema, the validator, the runtime and the
status learn about the venue from ``VENUE``. Then add its loopback fake under
``tests/fakes/kraken/`` and its rows to the contract suites (``tests/contract/``). The recipe
is in docs/architecture.md.

As it stands this package is a working venue over a CSV file: its "exchange" replays the file's
bars as a market (the bars before ``data.lookback_bars`` are history) and fills market orders at
the last price, so a test can run a bot on it end to end (tests/integration/test_venue_template.py).
Packages whose name starts with "_" are not registered, so this one is only an example.
"""
from __future__ import annotations

from typing import Any

from trading.core.settings import BrokerConfig, DataConfig
from trading.venues.registry import Venue, VenueRequest

SOURCE, BROKER = "template", "template_paper"


def connect(request: VenueRequest) -> Any:
    """The bot's one connection to the venue, shared by its source and its broker. Import the
    client library here, not at the top: the validator loads every declaration."""
    from .connection import TemplateVenue

    return TemplateVenue(request.data.file_path, request.symbol, request.data.lookback_bars,
                         symbols=request.symbols)


def bar_source(connection: Any, data: DataConfig, settings: Any) -> Any:
    from .source import TemplateBarSource

    return TemplateBarSource(connection, data.lookback_bars, data.retry_interval)


def broker(connection: Any, config: BrokerConfig, symbols: tuple[str, ...]) -> Any:
    from .broker import TemplateBroker

    return TemplateBroker(venue=connection, symbols=symbols)


VENUE = Venue(
    name="template",
    title="Template venue",
    data_sources={SOURCE: "the template venue's bars (a CSV file replayed as a market)"},
    broker_types={BROKER: "market orders filled by the template venue at its last price"},
    real_money=lambda broker_type, connection: False,  # a paper venue: never real money
    basket_orders=True,  # its broker trades each symbol of a basket (its bars: one symbol yet)
    connect=connect,
    bar_source=bar_source,
    broker=broker,
)

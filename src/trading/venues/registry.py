"""The venue registry: every venue adapter declares itself once, here is where they are found.

A venue is one package under ``trading/venues/<name>/`` (or an installed plugin) whose
``__init__`` holds ``VENUE = Venue(...)``: the names it answers to as ``data.data_source`` and
``broker.type``, its real-money rule, its config section and that section's JSON Schema, the
checks it adds to the validator, and factories for its connection, bar source and broker. The
config, the validator, the schema and the runtime ask this registry; none of them names a venue.

Declarations stay light (names, rules, text): the factories import the venue's client library
only when a bot is built, so ``tradingbot validate`` does not load python-binance and the like.
Packages whose name starts with ``_`` (the ``_template``) are not venues. Plugins declare theirs
under the entry point group ``tradingbot.venues`` (``name = "package.module:VENUE"``).
"""
from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from trading.core.errors import ConfigError
from trading.core.settings import BrokerConfig, DataConfig

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tradingbot.venues"
Problem = tuple[tuple[Any, ...], str]  # (JSON path, message), as the validator reports them


@dataclass(frozen=True)
class VenueRequest:
    """What a venue's ``connect`` factory gets: the bot's settings that concern it.

    ``broker`` is the broker section when the bot trades at this venue, None when the venue
    only serves its data (a simulated broker); ``settings`` is the venue's own typed section
    (None when it has none); ``env`` the environment (keys, URLs; environment wins);
    ``symbol`` the first symbol the bot trades, ``symbols`` all of them (a basket's, in its
    order; a one-symbol bot's ``(symbol,)``, also when left out)."""

    broker: BrokerConfig | None
    data: DataConfig
    settings: Any
    symbol: str
    env: Mapping[str, str]
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.symbols:
            object.__setattr__(self, "symbols", (self.symbol,))
        elif self.symbols[0] != self.symbol:
            raise ValueError(f"symbol {self.symbol!r} must be the first of symbols "
                             f"{self.symbols}")


def _never(broker_type: str, connection: Any) -> bool | None:
    return False


@dataclass(frozen=True)
class Venue:
    """One venue adapter's declaration (see the module docstring).

    - ``data_sources`` / ``broker_types``: each name it answers to, with the sentence the
      schema shows for it.
    - ``real_money(broker_type, connection)``: True when that broker trades real money, False
      when not, None when only the connected account can tell (then the runtime connects first
      and asks again with the connection).
    - ``live_account``: how a user recognises a live account, for messages ("TWS is logged in
      to a live account (not DU...)"); empty when the broker type alone decides.
    - ``section``, ``section_schema``, ``settings``: the venue's own config section (a key at
      the top level of a config), its JSON Schema, and the builder of its typed frozen settings
      from the section (defaults filled in).
    - ``intervals``: the bar intervals its data source serves (None: every interval).
    - ``trailing_stop_order``: its broker places the risk rules' trailing stop as an order
      (without it, a config with ``risk_management.trailing_stop`` on is refused).
    - ``basket_orders``: its broker trades a basket (several symbols from one account: a
      position, protective orders and reconciliation per symbol); without it a basket config
      with its broker is refused.
    - ``align_seconds``: how long a basket's time step waits, after the first of its bars for
      that time arrived from this venue, for the other symbols' (``data.align_seconds`` wins).
    - ``basket_data``: its bar source serves a basket (every symbol of ``data.symbols``, each
      bar tagged with its symbol); without it a basket cannot take its data from this venue.
    - ``secrets(broker_type)``: environment variables that broker type needs.
    - ``problems(doc)`` / ``warnings(doc, env)``: its own checks of a whole config, as
      (JSON path, message) pairs, run only when the config uses the venue.
    - ``connect(request)``: the bot's one connection to it, shared by its source and broker;
      ``bar_source(connection, data, settings)`` and ``broker(connection, broker, symbols)``
      (``symbols``: every symbol the bot trades, a basket's in its order, from one cash).
    """

    name: str
    title: str
    connect: Callable[[VenueRequest], Any]
    data_sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    broker_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    real_money: Callable[[str, Any], bool | None] = _never
    live_account: str = ""
    section: str | None = None
    section_schema: Mapping[str, Any] | None = None
    settings: Callable[[Mapping[str, Any]], Any] | None = None
    intervals: tuple[str, ...] | None = None
    trailing_stop_order: bool = False
    basket_orders: bool = False
    align_seconds: float = 5.0
    basket_data: bool = False
    secrets: Callable[[str], tuple[str, ...]] = lambda broker_type: ()
    problems: Callable[[Mapping[str, Any]], Iterable[Problem]] = lambda doc: ()
    warnings: Callable[[Mapping[str, Any], Mapping[str, str]], Iterable[Problem]] = \
        lambda doc, env: ()
    bar_source: Callable[[Any, DataConfig, Any], Any] | None = None
    broker: Callable[[Any, BrokerConfig, tuple[str, ...]], Any] | None = None

    def names(self) -> tuple[str, ...]:
        """Every name this venue answers to (its own, its data sources, its broker types)."""
        return tuple(dict.fromkeys((self.name, *self.data_sources, *self.broker_types)))


class VenueRegistry:
    """The declared venues, by name, data source and broker type."""

    def __init__(self, venues: Iterable[Venue]) -> None:
        self._venues: dict[str, Venue] = {}
        self._by_source: dict[str, Venue] = {}
        self._by_broker: dict[str, Venue] = {}
        for venue in venues:
            self.add(venue)

    def add(self, venue: Venue) -> None:
        """Register ``venue``; a name another venue already answers to is refused."""
        taken = {**self._by_source, **self._by_broker}
        for name in (*venue.data_sources, *venue.broker_types):
            if name in taken and taken[name].name != venue.name:
                raise ConfigError(f"venue '{venue.name}' declares '{name}', which venue "
                                  f"'{taken[name].name}' declares too")
        self._venues[venue.name] = venue
        self._by_source.update({s: venue for s in venue.data_sources})
        self._by_broker.update({b: venue for b in venue.broker_types})

    def __iter__(self):
        return iter(self._venues.values())

    def get(self, name: str) -> Venue | None:
        return self._venues.get(name)

    def for_data_source(self, data_source: str) -> Venue | None:
        """The venue serving ``data.data_source``, None for one no venue serves (``file``)."""
        return self._by_source.get(data_source)

    def for_broker(self, broker_type: str) -> Venue | None:
        """The venue a ``broker.type`` trades at, None for a simulated broker."""
        return self._by_broker.get(broker_type)

    @property
    def data_sources(self) -> dict[str, str]:
        return {name: text for v in self for name, text in v.data_sources.items()}

    @property
    def broker_types(self) -> dict[str, str]:
        return {name: text for v in self for name, text in v.broker_types.items()}

    def sections(self) -> dict[str, Venue]:
        """Venues with a config section, by the section's key."""
        return {v.section: v for v in self if v.section}


def _declared_in(module_name: str) -> Venue | None:
    module = importlib.import_module(module_name)
    venue = getattr(module, "VENUE", None)
    if venue is None:
        return None
    if not isinstance(venue, Venue):
        raise ConfigError(f"{module_name}.VENUE is a {type(venue).__name__}, not a Venue")
    return venue


def discover() -> list[Venue]:
    """The venue packages shipped under ``trading.venues``, then the installed plugins."""
    import trading.venues as package

    found: list[Venue] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg and not info.name.startswith("_"):
            venue = _declared_in(f"{package.__name__}.{info.name}")
            if venue is not None:
                found.append(venue)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            venue = point.load()
        except Exception as exc:  # a broken plugin must not stop every bot
            log.warning("venue plugin %s could not be loaded: %s", point.name, exc)
            continue
        if isinstance(venue, Venue):
            found.append(venue)
        else:
            log.warning("venue plugin %s is a %s, not a Venue: ignored", point.name,
                        type(venue).__name__)
    return found


@functools.cache
def venues() -> VenueRegistry:
    """The registry of every declared venue (found once per process)."""
    return VenueRegistry(discover())

"""Yahoo Finance's chart API (through yfinance) as a data source: no keys, stocks and more.

The connection (``connection.YahooVenue``), its environment (``environment``), the config's
intervals as Yahoo's and how far back Yahoo serves each (``intervals``), chart answers
(``chart``), closed bars out of them (``bars``), the polling source (``source``) and
``tradingbot download yahoo`` (``download``). Only this package knows yfinance; ``VENUE`` below
is all the rest of the bot knows of it.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from trading.core.settings import INTERVALS, DataConfig
from trading.venues.registry import Problem, Venue, VenueRequest
from trading.venues.yahoo.intervals import max_history_bars

SOURCE = "yahoo"


def connect(request: VenueRequest) -> Any:
    """The Yahoo connection the environment describes; it checks the symbols when it starts."""
    from trading.venues.yahoo.environment import build_yahoo_venue

    symbols = request.data.symbols
    return build_yahoo_venue(request.env, symbol=symbols[0] if len(symbols) == 1 else symbols,
                             interval=request.data.interval)


def bar_source(connection: Any, data: DataConfig, settings: Any) -> Any:
    """The polling source of ``data``'s symbols (a basket's polled together)."""
    from trading.venues.yahoo.source import YahooBarSource

    return YahooBarSource(connection, data.symbols, data.interval, data.lookback_bars,
                          data.retry_interval, poll_delay=data.poll_delay_seconds)


def warnings(doc: Mapping[str, Any], env: Mapping[str, str]) -> Iterator[Problem]:
    """A ``lookback_bars`` beyond the history Yahoo serves for the interval."""
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    interval, lookback = data.get("interval", "1h"), data.get("lookback_bars", 500)
    if interval not in INTERVALS or not isinstance(lookback, int) or isinstance(lookback, bool):
        return
    most = max_history_bars(interval)
    if most is not None and lookback > most:
        yield ("data", "lookback_bars"), (
            f"Yahoo serves at most about {most:,} {interval} bars of history (fewer for a market "
            f"that closes at night); lookback_bars {lookback:,} is more: the bot warms up on "
            f"what Yahoo serves. Set lookback_bars to {most:,} or less, or use a longer interval")


VENUE = Venue(
    name="yahoo",
    title="Yahoo Finance",
    data_sources={SOURCE: "bars from Yahoo Finance's chart API, polled after each close (a "
                          "basket: every symbol in one round; no keys); trade them with the "
                          "paper or mock broker"},
    warnings=warnings,
    align_seconds=30.0,
    basket_data=True,
    connect=connect,
    bar_source=bar_source,
)

"""Binance Spot: klines as a data source, and the Spot Testnet and Spot as brokers.

The connection (``connection.BinanceVenue``, on python-binance), endpoints and keys
(``endpoints``), klines (``klines``), symbol rules (``filters``), the order gateway that turns
Binance's answers into the kernel's reports (``orders``, ``order_types``), the bar source
(``source``), the broker (``broker``) and ``tradingbot download binance`` (``download``). Only
this package knows python-binance; ``VENUE`` below is all the rest of the bot knows of it.
"""
from __future__ import annotations

from typing import Any

from trading.core.settings import BrokerConfig, DataConfig
from trading.venues.binance.endpoints import KEY_NAMES
from trading.venues.registry import Venue, VenueRequest

TESTNET_BROKER, LIVE_BROKER = "binance_paper", "binance"


def connect(request: VenueRequest) -> Any:
    """One Binance connection: the broker's account (the testnet's for ``binance_paper``) serves
    its data too; a bot with a simulated broker gets a key-less one to the public market data."""
    from trading.venues.binance.connection import BinanceVenue
    from trading.venues.binance.endpoints import (load_credentials, request_timeout,
                                                  resolve_endpoints, retry_cap)

    trades_here = request.broker is not None
    testnet = trades_here and request.broker.type == TESTNET_BROKER
    configured = [request.broker.endpoints, request.data.endpoints] if trades_here \
        else [request.data.endpoints]
    return BinanceVenue(resolve_endpoints(*configured, testnet=testnet, env=request.env),
                        load_credentials(testnet, request.env) if trades_here else None,
                        testnet=testnet, request_timeout=request_timeout(request.env),
                        backoff_cap=retry_cap(request.env))


def bar_source(connection: Any, data: DataConfig, settings: Any) -> Any:
    """The kline source of ``data``'s symbols (a basket's over one combined stream)."""
    from trading.venues.binance.source import BinanceKlineSource

    return BinanceKlineSource(connection, data.symbols, data.interval,
                              data.lookback_bars, data.retry_interval)


def broker(connection: Any, config: BrokerConfig, symbols: tuple[str, ...]) -> Any:
    from trading.venues.binance.broker import BinanceBroker

    return BinanceBroker(venue=connection, symbols=symbols)


def secrets(broker_type: str) -> tuple[str, ...]:
    """The key pair a broker type reads from the environment."""
    return KEY_NAMES[broker_type == TESTNET_BROKER] if broker_type in (TESTNET_BROKER,
                                                                         LIVE_BROKER) else ()


VENUE = Venue(
    name="binance",
    title="Binance Spot",
    data_sources={"binance": "Binance Spot klines: REST history, then closed klines from the "
                             "WebSocket stream, one combined stream for a basket (public market "
                             "data: no keys)"},
    broker_types={TESTNET_BROKER: "orders on the Binance Spot Testnet",
                  LIVE_BROKER: "orders on Binance Spot (real money)"},
    real_money=lambda broker_type, connection: broker_type == LIVE_BROKER,
    secrets=secrets,
    align_seconds=2.0,
    basket_orders=True,
    basket_data=True,
    connect=connect,
    bar_source=bar_source,
    broker=broker,
)

"""Build the venue connection a bot needs: one per bot, shared by its feed and its broker.

Takes the typed broker, data and ibkr settings (never the whole BotConfig). A bot whose broker
is a Binance account uses that account's venue (the testnet for ``binance_paper``) for its data
too; a ``binance`` data source with a simulated broker gets a key-less connection to Binance's
public market data. An ``ibkr`` broker or data source gets one TWS / IB Gateway connection,
which both share.
"""
from __future__ import annotations

import os
from typing import Mapping

from trading.core.errors import ConfigError
from trading.core.settings import VENUE_BROKERS, BrokerConfig, DataConfig, IbkrConfig
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.endpoints import load_credentials, resolve_endpoints
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.contracts import ContractSpec
from trading.venues.ibkr.settings import resolve_address
from trading.venues.yahoo.connection import YahooVenue
from trading.venues.yahoo_factory import build_yahoo_venue

TIMEOUT_ENV = "BINANCE_REQUEST_TIMEOUT"  # seconds a REST request may take (default 10)


def _timeout(env: Mapping[str, str]) -> float:
    text = env.get(TIMEOUT_ENV)
    if not text:
        return 10.0
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigError(f"environment variable {TIMEOUT_ENV} must be a positive number of "
                          f"seconds, got {text!r}")
    return value


def build_venue(broker: BrokerConfig, data: DataConfig, ibkr: IbkrConfig | None = None,
                env: Mapping[str, str] | None = None, *,
                symbol: str | None = None) -> BinanceVenue | YahooVenue | IbkrVenue | None:
    """The venue connection for this broker and data source, or None when neither needs one.
    A ``yahoo`` data source (with a simulated broker) gets a Yahoo connection
    (``trading.venues.yahoo_factory``).

    ``ibkr`` is the ``ibkr`` section (the defaults when None); ``symbol`` the traded symbol
    (``data.symbol`` when None). Raises ConfigError for a missing API key (naming the variable)
    or a bad setting.
    """
    env = os.environ if env is None else env
    if data.data_source == "yahoo" and broker.type not in VENUE_BROKERS:
        return build_yahoo_venue(env)
    if VENUE_BROKERS.get(broker.type) == "ibkr" or data.data_source == "ibkr":
        ibkr = ibkr if ibkr is not None else IbkrConfig()
        spec = ContractSpec.from_config(symbol or data.symbol, ibkr)
        spec.contract()  # an unsupported sec_type or a malformed pair fails now, not at start
        return IbkrVenue(resolve_address(ibkr, env), spec)
    trades_there = VENUE_BROKERS.get(broker.type) == "binance"
    if not trades_there and data.data_source != "binance":
        return None
    testnet = broker.type == "binance_paper"
    configured = [broker.endpoints, data.endpoints] if trades_there else [data.endpoints]
    return BinanceVenue(resolve_endpoints(*configured, testnet=testnet, env=env),
                        load_credentials(testnet, env) if trades_there else None,
                        testnet=testnet, request_timeout=_timeout(env))

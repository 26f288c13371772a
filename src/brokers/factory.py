"""build_broker: the backtrader broker a BotConfig asks for."""
from __future__ import annotations

import logging

import backtrader as bt

from brokers.binance import BinanceBroker
from brokers.ibkr import IbkrBroker
from brokers.mock import MockBroker
from brokers.paper import BrokerSnapshot, PaperBroker
from trading.core.settings import BROKER_TYPES, BrokerConfig
from trading.core.errors import ConfigError

log = logging.getLogger(__name__)



def build_broker(config: BrokerConfig, *, restore: BrokerSnapshot | None = None,
                 venue: object | None = None, symbol: str = "") -> bt.BrokerBase:
    """A broker for ``config.type``; ``restore`` (paper only) continues a stopped run (it can also
    be handed in later with ``broker.restore(snapshot)``, before the run starts). A venue broker
    trades ``symbol`` through ``venue``, the bot's connection (``trading.venues.factory``).

    Raises ConfigError, with a message for the user, for a type this version cannot build.
    """
    kind = config.type
    if kind == "paper":
        broker: bt.BrokerBase = PaperBroker(cash=config.initial_balance,
                                            commission=config.commission,
                                            slippage_pct=config.slippage_pct)
    elif kind == "mock":
        if config.slippage_pct:
            log.warning("broker.slippage_pct is ignored by the 'mock' broker; 'paper' applies it")
        broker = MockBroker(cash=config.initial_balance, commission=config.commission)
    elif kind in ("binance", "binance_paper"):
        if venue is None:
            raise ConfigError(f"broker.type '{kind}' needs the bot's Binance connection "
                              "(trading.venues.factory.build_venue)")
        if restore is not None:
            log.info("broker '%s': the account's balances are the truth; the saved cash is not "
                     "restored", kind)
        return BinanceBroker(venue=venue, symbol=symbol)
    elif kind == "ibkr":
        if venue is None:
            raise ConfigError("broker.type 'ibkr' needs the bot's TWS / IB Gateway connection "
                              "(trading.venues.factory.build_venue)")
        if restore is not None:
            log.info("broker 'ibkr': the account's balances are the truth; the saved cash is not "
                     "restored")
        return IbkrBroker(venue=venue)
    elif kind in BROKER_TYPES:
        raise ConfigError(f"broker.type '{kind}' is not available in this version yet; set "
                          "broker.type to 'paper' to trade with simulated fills on live prices")
    else:
        raise ConfigError(f"broker.type '{kind}' is unknown; use one of: {', '.join(BROKER_TYPES)}")
    broker.restore(restore)
    return broker

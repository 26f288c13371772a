"""build_broker: the simulated broker a BotConfig asks for (a venue's broker comes from its
declaration in the registry)."""
from __future__ import annotations

import logging

import backtrader as bt

from brokers.mock import MockBroker
from brokers.paper import BrokerSnapshot, PaperBroker
from trading.core.errors import ConfigError
from trading.core.settings import SIMULATED_BROKERS, BrokerConfig

log = logging.getLogger(__name__)


def build_broker(config: BrokerConfig, *, restore: BrokerSnapshot | None = None) -> bt.BrokerBase:
    """A ``mock`` or ``paper`` broker; ``restore`` (paper only) continues a stopped run (it can
    also be handed in later with ``broker.restore(snapshot)``, before the run starts).

    Raises ConfigError, with a message for the user, for any other type."""
    kind = config.type
    if kind == "paper":
        broker: bt.BrokerBase = PaperBroker(cash=config.initial_balance,
                                            commission=config.commission,
                                            slippage_pct=config.slippage_pct)
    elif kind == "mock":
        if config.slippage_pct:
            log.warning("broker.slippage_pct is ignored by the 'mock' broker; 'paper' applies it")
        broker = MockBroker(cash=config.initial_balance, commission=config.commission)
    else:
        raise ConfigError(f"broker.type '{kind}' is not a simulated broker "
                          f"({', '.join(SIMULATED_BROKERS)}); a venue's broker is built by its "
                          "venue (trading.venues.registry)")
    broker.restore(restore)
    return broker

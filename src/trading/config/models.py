"""A whole bot's config as typed frozen dataclasses: ``BotConfig`` and the sections only the
orchestrator reads. The sections lower layers are built from live in ``trading.core.settings``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from trading.core.settings import (BrokerConfig, ChannelConfig,  # noqa: F401 (re-exported)
                                   DataConfig, NotificationsConfig, RiskConfig, TradingConfig,
                                   TrailingStopConfig)


@dataclass(frozen=True)
class MixinSpec:
    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class StrategyConfig:
    type: str
    entry: MixinSpec
    exits: tuple[MixinSpec, ...]


@dataclass(frozen=True)
class LoggingConfig:
    level: str
    save_trades: bool
    save_equity_curve: bool
    log_file: Path
    heartbeat_seconds: float


@dataclass(frozen=True)
class BotConfig:
    """A whole bot, as validated. ``source`` is the file it came from."""

    bot_id: str
    description: str
    version: str
    live_trading_confirmed: bool
    broker: BrokerConfig
    trading: TradingConfig
    data: DataConfig
    strategy: StrategyConfig
    notifications: NotificationsConfig
    risk: RiskConfig
    logging: LoggingConfig
    database_url: str
    close_positions_on_shutdown: bool
    source: Path | None = None
    # where database_url comes from: an environment variable's name, "database.url" or "the default"
    database_url_from: str = "database.url"
    # each venue's own section (``ibkr`` ...), typed by the venue (trading.venues.registry)
    venue_settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

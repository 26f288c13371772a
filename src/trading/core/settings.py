"""The settings of one part of a bot, as typed frozen values the lower layers are built from.

The config loader (``trading.config``) builds these from the validated JSON; factories and the
risk manager take them, never the orchestrator's whole ``BotConfig``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from trading.core.errors import ConfigError

# the brokers and the data source the bot has without a venue; every other broker.type and
# data.data_source is a venue's (trading.venues.registry), with the sentence the schema shows
SIMULATED_BROKERS = {
    "mock": "instant simulated fills, nothing kept",
    "paper": "simulated fills on live prices, kept in the database",
}
FILE_SOURCE = "file"
FILE_SOURCE_TEXT = "a CSV of bars replayed as a live feed"
# in data.file_path, where each symbol's name goes: one file per symbol (data/{symbol}-5m.csv)
SYMBOL_PLACEHOLDER = "{symbol}"
INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w")
INTERVAL_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
                    "2h": 7200, "4h": 14400, "6h": 21600, "12h": 43200, "1d": 86400, "1w": 604800}
NOTIFY_EVENTS = ("trade_entry", "trade_exit", "error", "status", "daily_summary",
                 "order_rejected", "kill_switch")
CHANNELS = ("telegram", "email", "webhook")


@dataclass(frozen=True)
class VenueEndpoints:
    """Where a venue is reached (a regional venue, a proxy); None keeps the venue's default (its
    test network's for a paper account). The venue's environment variables win over these."""

    rest: str | None = None
    stream: str | None = None
    ws_api: str | None = None


@dataclass(frozen=True)
class BrokerConfig:
    type: str
    initial_balance: float
    commission: float
    slippage_pct: float
    endpoints: VenueEndpoints = VenueEndpoints()


def _basket(config: Any) -> None:
    """Fill ``config.symbols`` from ``config.symbol`` when it is empty (one-symbol code builds
    these settings with ``symbol`` only); refuse a ``symbol`` that is not the basket's first."""
    symbols = tuple(config.symbols) or (config.symbol,)
    if symbols[0] != config.symbol:
        raise ValueError(f"symbol {config.symbol!r} must be the first of symbols {symbols}")
    object.__setattr__(config, "symbols", symbols)


def symbol_file(template: str | Path, symbol: str) -> Path:
    """``template`` with ``{symbol}`` replaced by ``symbol`` (``data/{symbol}-5m.csv`` ->
    ``data/ETCBTC-5m.csv``); the path itself when it holds no placeholder."""
    return Path(str(template).replace(SYMBOL_PLACEHOLDER, symbol))


@dataclass(frozen=True)
class TradingConfig:
    """What the bot trades and how much.

    ``symbols`` is the basket in the config's order: when several symbols signal an entry on the
    same bar and fewer than that many of the ``max_positions`` slots are free, the earlier ones
    win. ``symbol`` is its first, what one-symbol code reads; built with ``symbol`` alone,
    ``symbols`` is ``(symbol,)``.
    """

    symbol: str
    position_size: float  # fraction of equity put into each new position
    max_positions: int  # positions open at once across the basket, one per symbol at most
    max_drawdown_pct: float
    max_exposure: float  # most of the equity in open positions (their value over equity)
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _basket(self)

    @property
    def is_basket(self) -> bool:
        """More than one symbol."""
        return len(self.symbols) > 1


@dataclass(frozen=True)
class DataConfig:
    """Where bars come from. ``symbols`` are the trading symbols (``symbol`` the first);
    ``file_path`` may hold ``{symbol}``: one file per symbol, see ``file_for``."""

    data_source: str
    symbol: str
    interval: str
    lookback_bars: int
    retry_interval: float
    file_path: Path | None
    speed: float
    endpoints: VenueEndpoints = VenueEndpoints()
    poll_delay_seconds: float = 5.0  # a polled source asks this long after a bar's close
    connect_timeout_seconds: float = 60.0  # no first bar by then: the bot stops (0: never)
    symbols: tuple[str, ...] = ()
    # a basket's step waits this long after the first of its bars for that time (None: the
    # venue's own wait; the file source marks its steps complete and never waits)
    align_seconds: float | None = None

    def __post_init__(self) -> None:
        _basket(self)

    @property
    def interval_seconds(self) -> int:
        return INTERVAL_SECONDS[self.interval]

    def file_for(self, symbol: str) -> Path:
        """The CSV of ``symbol``: ``file_path`` with ``{symbol}`` replaced (the plain path when
        it has no placeholder). Raises ConfigError when the config names no file."""
        if self.file_path is None:
            raise ConfigError(f"data.file_path: not set, so there is no data file for {symbol}; "
                              f"set it (data/{SYMBOL_PLACEHOLDER}-5m.csv for one file per symbol)")
        return symbol_file(self.file_path, symbol)


@dataclass(frozen=True)
class TrailingStopConfig:
    enabled: bool
    activation_pct: float
    trailing_pct: float


@dataclass(frozen=True)
class RiskConfig:
    stop_loss_pct: float
    take_profit_pct: float
    trailing_stop: TrailingStopConfig
    max_daily_trades: int
    max_daily_loss: float
    max_orders_per_minute: int
    max_consecutive_errors: int


def interval_label(seconds: float) -> str:
    """``5m`` for 300 seconds: a config interval's name, or the seconds when none fits."""
    for name, value in INTERVAL_SECONDS.items():
        if value == seconds:
            return name
    return f"{seconds:g}s"


@dataclass(frozen=True)
class ChannelConfig:
    """One notification channel as configured. ``options`` are the channel's own keys (chat_id,
    smtp_host, url, format, ...); secrets are never here: channels read them from the environment."""

    enabled: bool
    notify_on: tuple[str, ...]
    timeout_seconds: float = 10.0
    rate_limit_per_minute: float = 20.0
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class NotificationsConfig:
    """Every channel, the master switch and the daily summary's time of day (UTC)."""

    enabled: bool
    telegram: ChannelConfig
    email: ChannelConfig
    webhook: ChannelConfig
    daily_summary_time: str = "00:00"

    def channel(self, name: str) -> ChannelConfig:
        """The settings of channel ``name`` (one of ``CHANNELS``)."""
        return {"telegram": self.telegram, "email": self.email, "webhook": self.webhook}[name]

    @property
    def daily_summary_seconds(self) -> int:
        """``daily_summary_time`` as seconds after 00:00 UTC (``HH:MM`` or ``HH:MM:SS``)."""
        hours, minutes, *seconds = (int(part) for part in self.daily_summary_time.split(":"))
        return hours * 3600 + minutes * 60 + (seconds[0] if seconds else 0)

"""Load a numbered bot config into a typed, frozen ``BotConfig``.

The JSON Schema (``trading.schema``) is the user's contract and the single source of defaults;
``load_config`` reads the file, validates it (every error at once), fills the defaults and builds
these dataclasses. Nothing past this module reads the raw dict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from trading.config_files import read_config_file, resolve_config_path
from trading.errors import ConfigError

BROKER_TYPES = ("mock", "paper", "binance_paper", "binance", "ibkr")
LIVE_MONEY_BROKERS = ("binance", "ibkr")
DATA_SOURCES = ("file", "binance", "yahoo", "ibkr")
INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w")
INTERVAL_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
                    "2h": 7200, "4h": 14400, "6h": 21600, "12h": 43200, "1d": 86400, "1w": 604800}
NOTIFY_EVENTS = ("trade_entry", "trade_exit", "error", "status", "daily_summary",
                 "order_rejected", "kill_switch")


@dataclass(frozen=True)
class BrokerConfig:
    type: str
    initial_balance: float
    commission: float
    slippage_pct: float


@dataclass(frozen=True)
class TradingConfig:
    symbol: str
    position_size: float
    max_positions: int
    max_drawdown_pct: float
    max_exposure: float


@dataclass(frozen=True)
class DataConfig:
    data_source: str
    symbol: str
    interval: str
    lookback_bars: int
    retry_interval: float
    file_path: Path | None
    speed: float

    @property
    def interval_seconds(self) -> int:
        return INTERVAL_SECONDS[self.interval]


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
class ChannelConfig:
    """One notification channel; ``options`` are the channel's own settings (host, url, chat id)."""

    enabled: bool
    notify_on: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class NotificationsConfig:
    enabled: bool
    telegram: ChannelConfig
    email: ChannelConfig
    webhook: ChannelConfig


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


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _mixin(spec: Mapping[str, Any]) -> MixinSpec:
    return MixinSpec(name=spec["name"], params=_freeze(spec.get("params", {})))


def _channel(raw: Mapping[str, Any]) -> ChannelConfig:
    options = {k: v for k, v in raw.items() if k not in ("enabled", "notify_on")}
    return ChannelConfig(enabled=raw["enabled"], notify_on=tuple(raw["notify_on"]),
                         options=_freeze(options))


def _path(value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    # relative paths resolve against the directory the bot is started from
    return path if path.is_absolute() else base / path


def bot_id_from_path(path: Path) -> str:
    """The default bot id: the config file's stem (``0001`` for ``0001.json``)."""
    return path.stem


def build_config(doc: Mapping[str, Any], source: Path | None = None,
                 base_dir: Path | None = None) -> BotConfig:
    """Build the typed config from a validated document whose defaults are filled."""
    base = base_dir or Path.cwd()
    bot_id = doc.get("bot_id") or (bot_id_from_path(source) if source else "bot")
    b, t, d, s = doc["broker"], doc["trading"], doc["data"], doc["strategy"]
    n, r, lg = doc["notifications"], doc["risk_management"], doc["logging"]
    exits = s["exit_logic"] if isinstance(s["exit_logic"], list) else [s["exit_logic"]]
    ts = r["trailing_stop"]
    log_file = lg.get("log_file") or f"logs/live/trading_bot_{bot_id}.log"
    db_url = doc.get("database", {}).get("url") or f"sqlite:///{(base / 'data' / f'{bot_id}.sqlite')}"
    return BotConfig(
        bot_id=bot_id,
        description=doc["description"],
        version=doc["version"],
        live_trading_confirmed=doc["live_trading_confirmed"],
        broker=BrokerConfig(type=b["type"], initial_balance=float(b["initial_balance"]),
                            commission=float(b["commission"]), slippage_pct=float(b["slippage_pct"])),
        trading=TradingConfig(symbol=t["symbol"], position_size=float(t["position_size"]),
                              max_positions=int(t["max_positions"]),
                              max_drawdown_pct=float(t["max_drawdown_pct"]),
                              max_exposure=float(t["max_exposure"])),
        data=DataConfig(data_source=d["data_source"], symbol=d.get("symbol") or t["symbol"],
                        interval=d["interval"], lookback_bars=int(d["lookback_bars"]),
                        retry_interval=float(d["retry_interval"]),
                        file_path=_path(d.get("file_path"), base), speed=float(d["speed"])),
        strategy=StrategyConfig(type=s["type"], entry=_mixin(s["entry_logic"]),
                                exits=tuple(_mixin(e) for e in exits)),
        notifications=NotificationsConfig(enabled=n["enabled"], telegram=_channel(n["telegram"]),
                                          email=_channel(n["email"]), webhook=_channel(n["webhook"])),
        risk=RiskConfig(stop_loss_pct=float(r["stop_loss_pct"]),
                        take_profit_pct=float(r["take_profit_pct"]),
                        trailing_stop=TrailingStopConfig(enabled=ts["enabled"],
                                                         activation_pct=float(ts["activation_pct"]),
                                                         trailing_pct=float(ts["trailing_pct"])),
                        max_daily_trades=int(r["max_daily_trades"]),
                        max_daily_loss=float(r["max_daily_loss"]),
                        max_orders_per_minute=int(r["max_orders_per_minute"]),
                        max_consecutive_errors=int(r["max_consecutive_errors"])),
        logging=LoggingConfig(level=lg["level"], save_trades=lg["save_trades"],
                              save_equity_curve=lg["save_equity_curve"],
                              log_file=_path(log_file, base),  # type: ignore[arg-type]
                              heartbeat_seconds=float(lg["heartbeat_seconds"])),
        database_url=db_url,
        close_positions_on_shutdown=doc["shutdown"]["close_positions"],
        source=source,
    )


def load_config(name_or_path: str | Path, base_dir: Path | None = None) -> BotConfig:
    """Resolve ``0001``, ``0001.json`` or a path; validate; return the typed config.

    Raises ConfigError listing every problem (``file: json.path: message``).
    """
    from trading.config_validator import validate_document  # the validator needs the registry

    path = resolve_config_path(name_or_path)
    raw = read_config_file(path)
    report = validate_document(raw, source=str(path))
    if report.errors:
        raise ConfigError(f"{path}: {len(report.errors)} problem(s) in the config", report.errors)
    return build_config(report.document, source=path, base_dir=base_dir)

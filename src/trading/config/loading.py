"""Load a numbered bot config into a typed, frozen ``BotConfig``.

The JSON Schema (``trading.config.schema``) is the user's contract and the single source of
defaults; ``load_config`` reads the file, validates it (every error at once), fills the defaults
and builds the dataclasses. Nothing past this module reads the raw dict.
"""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from trading.config.files import read_config_file, resolve_config_path
from trading.config.models import (BotConfig, BrokerConfig, ChannelConfig, DataConfig, LoggingConfig,
                                   MixinSpec, NotificationsConfig, RiskConfig, StrategyConfig,
                                   TradingConfig, TrailingStopConfig)
from trading.core.settings import VenueEndpoints
from trading.config.validator import validate_document
from trading.core.errors import ConfigError


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


def _endpoints(raw: Mapping[str, Any] | None) -> VenueEndpoints:
    raw = raw or {}
    return VenueEndpoints(rest=raw.get("rest"), stream=raw.get("stream"), ws_api=raw.get("ws_api"))


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
                            commission=float(b["commission"]), slippage_pct=float(b["slippage_pct"]),
                            endpoints=_endpoints(b.get("endpoints"))),
        trading=TradingConfig(symbol=t["symbol"], position_size=float(t["position_size"]),
                              max_positions=int(t["max_positions"]),
                              max_drawdown_pct=float(t["max_drawdown_pct"]),
                              max_exposure=float(t["max_exposure"])),
        data=DataConfig(data_source=d["data_source"], symbol=d.get("symbol") or t["symbol"],
                        interval=d["interval"], lookback_bars=int(d["lookback_bars"]),
                        retry_interval=float(d["retry_interval"]),
                        file_path=_path(d.get("file_path"), base), speed=float(d["speed"]),
                        endpoints=_endpoints(d.get("endpoints"))),
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
    path = resolve_config_path(name_or_path)
    raw = read_config_file(path)
    report = validate_document(raw, source=str(path))
    if report.errors:
        raise ConfigError(f"{path}: {len(report.errors)} problem(s) in the config", report.errors)
    return build_config(report.document, source=path, base_dir=base_dir)

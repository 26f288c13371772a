"""Load a numbered bot config into a typed, frozen ``BotConfig``.

The JSON Schema (``trading.config.schema``) is the user's contract and the single source of
defaults; ``load_config`` reads the file, validates it (every error at once), fills the defaults
and builds the dataclasses. Nothing past this module reads the raw dict.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from strategies.mixins.registry import default_registry
from trading.config.basket import traded_symbols
from trading.config.database_url import database_url_from_environment
from trading.config.files import read_config_file, resolve_config_path
from trading.config.models import (BotConfig, BrokerConfig, ChannelConfig, DataConfig,
                                   LoggingConfig, MixinSpec, NotificationsConfig, RiskConfig,
                                   StrategyConfig, TradingConfig, TrailingStopConfig)
from trading.config.names import file_bot_id_problem
from trading.config.overrides import Override, apply_overrides, mark_overridden
from trading.core.settings import VenueEndpoints
from trading.config.validator import validate_document
from trading.core.errors import ConfigError
from trading.venues.registry import venues


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _mixin(spec: Mapping[str, Any]) -> MixinSpec:
    return MixinSpec(name=spec["name"], params=_freeze(spec.get("params", {})))


CHANNEL_COMMON = ("enabled", "notify_on", "timeout_seconds", "rate_limit_per_minute")


def _channel(raw: Mapping[str, Any]) -> ChannelConfig:
    options = {k: v for k, v in raw.items() if k not in CHANNEL_COMMON}
    return ChannelConfig(enabled=raw["enabled"], notify_on=tuple(raw["notify_on"]),
                         timeout_seconds=float(raw["timeout_seconds"]),
                         rate_limit_per_minute=float(raw["rate_limit_per_minute"]),
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


def _venue_settings(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """Each venue's own section, typed by the venue that declares it."""
    return MappingProxyType({key: venue.settings(doc.get(key, {}))
                             for key, venue in venues().sections().items()
                             if venue.settings is not None})


def bot_id_from_path(path: Path) -> str:
    """The default bot id: the config file's stem (``0001`` for ``0001.json``).

    Raises ConfigError when the stem breaks the rule a ``bot_id`` follows (``my bot.json``).
    """
    problem = file_bot_id_problem(path)
    if problem:
        raise ConfigError(f"{path}: bot_id: {problem}")
    return path.stem


def _database_url(doc: Mapping[str, Any], base: Path, bot_id: str) -> tuple[str, str]:
    """The bot's database URL and where it comes from (``trading.config.database_url``; --db is
    applied by the commands that take it)."""
    from_env = database_url_from_environment()
    if from_env is not None:
        name, url = from_env
        return url, name
    url = doc.get("database", {}).get("url")
    if url:
        return url, "database.url"
    return f"sqlite:///{(base / 'data' / f'{bot_id}.sqlite')}", "the default"


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
    db_url, db_url_from = _database_url(doc, base, bot_id)
    symbols = traded_symbols(t)
    align = d.get("align_seconds")
    return BotConfig(
        bot_id=bot_id,
        description=doc["description"],
        version=doc["version"],
        live_trading_confirmed=doc["live_trading_confirmed"],
        broker=BrokerConfig(type=b["type"], initial_balance=float(b["initial_balance"]),
                            commission=float(b["commission"]), slippage_pct=float(b["slippage_pct"]),
                            endpoints=_endpoints(b.get("endpoints"))),
        trading=TradingConfig(symbol=symbols[0], symbols=symbols,
                              position_size=float(t["position_size"]),
                              max_positions=int(t["max_positions"]),
                              max_drawdown_pct=float(t["max_drawdown_pct"]),
                              max_exposure=float(t["max_exposure"])),
        data=DataConfig(data_source=d["data_source"], symbol=symbols[0], symbols=symbols,
                        interval=d["interval"], lookback_bars=int(d["lookback_bars"]),
                        retry_interval=float(d["retry_interval"]),
                        file_path=_path(d.get("file_path"), base), speed=float(d["speed"]),
                        endpoints=_endpoints(d.get("endpoints")),
                        poll_delay_seconds=float(d["poll_delay_seconds"]),
                        connect_timeout_seconds=float(d["connect_timeout_seconds"]),
                        align_seconds=None if align is None else float(align)),
        strategy=StrategyConfig(type=s["type"], entry=_mixin(s["entry_logic"]),
                                exits=tuple(_mixin(e) for e in exits)),
        notifications=NotificationsConfig(enabled=n["enabled"], telegram=_channel(n["telegram"]),
                                          email=_channel(n["email"]), webhook=_channel(n["webhook"]),
                                          daily_summary_time=n["daily_summary_time"]),
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
        database_url_from=db_url_from,
        close_positions_on_shutdown=doc["shutdown"]["close_positions"],
        source=source,
        venue_settings=_venue_settings(doc),
    )


@dataclass(frozen=True)
class CheckedConfig:
    """A config as one run uses it: the typed config and the effective document behind it.

    ``document`` is the file's JSON with the ``--set`` overrides applied and every default filled
    in (mixin params included): what a report records as the config that produced it.
    """

    config: BotConfig
    document: Mapping[str, Any]
    path: Path | None
    overrides: tuple[Override, ...] = ()


def with_mixin_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a validated document whose mixin specs list every declared param."""
    result = copy.deepcopy(doc)
    registry = default_registry()
    strategy = result["strategy"]
    exits = strategy["exit_logic"] if isinstance(strategy["exit_logic"], list) else [strategy["exit_logic"]]
    for kind, spec in [("entry", strategy["entry_logic"])] + [("exit", x) for x in exits]:
        cls = registry.find(kind, spec["name"])  # type: ignore[arg-type]
        if cls is not None:
            spec["params"] = {**{p.name: p.default for p in cls.params}, **spec.get("params", {})}
    return result


def check_document(raw: Any, path: Path | None, overrides: Sequence[Override] = (),
                   base_dir: Path | None = None, source: str | None = None) -> CheckedConfig:
    """Apply ``overrides`` to a parsed config, validate it like a file and build it.

    Raises ConfigError listing every problem; a problem with an overridden key says which
    ``--set`` caused it.
    """
    overrides = tuple(overrides)
    name = source or (str(path) if path else "config")
    doc = apply_overrides(raw, overrides) if overrides else raw
    report = validate_document(doc, source=name, path=path)
    if report.errors:
        errors = mark_overridden(report.errors, name, overrides)
        raise ConfigError(f"{name}: {len(errors)} problem(s) in the config", errors)
    assert report.document is not None
    effective = with_mixin_defaults(report.document)
    return CheckedConfig(build_config(effective, source=path, base_dir=base_dir), effective, path,
                         overrides)


def check_config(name_or_path: str | Path, overrides: Sequence[Override] = (),
                 base_dir: Path | None = None) -> CheckedConfig:
    """Resolve ``0001``, ``0001.json`` or a path; apply ``overrides``; validate; build."""
    path = resolve_config_path(name_or_path)
    return check_document(read_config_file(path), path, overrides, base_dir)


def load_config(name_or_path: str | Path, base_dir: Path | None = None) -> BotConfig:
    """Resolve ``0001``, ``0001.json`` or a path; validate; return the typed config.

    Raises ConfigError listing every problem (``file: json.path: message``).
    """
    return check_config(name_or_path, base_dir=base_dir).config

"""The config JSON Schema: the user's contract and the single source of defaults.

Two forms of one schema:

- ``config_schema()`` is what the validator checks against. Mixin ``params`` are a plain object
  there, so mixin problems are reported by the registry's clear messages instead of schema dumps.
- ``export_schema()`` adds what helps an editor: per-mixin ``params`` (from the registry) and the
  ``file_path`` rule for file data. ``tradingbot schema`` prints it;
  ``config/schema/trading_bot.schema.json`` is a copy of that output.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

from strategies.mixins.base import Mixin
from strategies.mixins.registry import MixinRegistry, default_registry
from trading.core.schema_parts import MAX_NAME, MAX_PATH, MAX_SYMBOL  # noqa: F401 (re-exported)
from trading.core.schema_parts import enum as _enum
from trading.core.schema_parts import obj as _obj
from trading.core.schema_parts import scalar as _scalar
from trading.config.basket import EXAMPLE_PATH, basket_brokers, basket_sources, listed
from trading.core.settings import (FILE_SOURCE, FILE_SOURCE_TEXT, INTERVALS,
                                   NOTIFY_EVENTS, SIMULATED_BROKERS, SYMBOL_PLACEHOLDER)
from trading.venues.registry import venues

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = Path("config") / "schema" / "trading_bot.schema.json"
BOT_ID_PATTERN = "^[A-Za-z0-9_-]+$"
BOT_ID_WORDS = "letters, digits, '_' and '-' only"
# bounds no sane value reaches: they keep a careless or hostile config from flooding the log,
# the database row, a message or the scheduler
MAX_TEXT = 1000  # description
# what the database columns hold (persistence.tables): bot_id String(64), and client order ids
# String(64) made of the bot id and 17 characters more (-<10-digit time>-entry); symbol String(32)
MAX_BOT_ID = 40
MAX_SYMBOLS = 100  # a basket; max_positions has the same bound
MAX_MONEY = 1e15  # in the quote currency
MAX_PERCENT_GAIN = 10000  # take profit, trailing activation: 100x the entry
MAX_SECONDS = 86400  # periods: retries, heartbeats, timeouts
MIN_SECONDS = 0.1
MIN_SPEED = 1e-5  # bars per second: about one bar a day; slower is a file that never plays
MAX_SPEED = 1e6
MIN_RATE, MAX_RATE = 0.01, 100_000  # messages per minute: one in 100 minutes at the least
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EMAIL_SECURITY = ("starttls", "ssl", "none")
WEBHOOK_FORMATS = ("text", "json")
DAILY_SUMMARY_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
EXIT_MIXIN_REF = "#/$defs/exit_mixin"
DEFAULT_NOTIFY_ON = ["trade_entry", "trade_exit", "error"]


def _notify_on() -> dict[str, Any]:
    return {"type": "array", "description": "Events this channel sends.",
            "items": _enum("An event name.", NOTIFY_EVENTS), "uniqueItems": True,
            "default": list(DEFAULT_NOTIFY_ON)}


def _channel(description: str, rate_per_minute: int, **extra: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "enabled": _scalar("boolean", "Send through this channel.", False),
        "notify_on": _notify_on(),
        "timeout_seconds": _scalar("number", "Seconds one send may take before it counts as "
                                   "failed (and is retried with backoff).", 10,
                                   minimum=MIN_SECONDS, maximum=MAX_SECONDS),
        "rate_limit_per_minute": _scalar("number", "Most messages sent per minute (a burst of "
                                         "that many, then evenly spaced).", rate_per_minute,
                                         minimum=MIN_RATE, maximum=MAX_RATE),
        **extra}
    return _obj(description, properties)


URL_PATTERN = "^(https?|wss?)://[^\\s/]+(/\\S*)?$"


def _endpoints(description: str) -> dict[str, Any]:
    def url(what: str) -> dict[str, Any]:
        return _scalar("string", f"{what} base URL (https://... or wss://...).",
                       pattern=URL_PATTERN, max_length=MAX_PATH)
    return _obj(description, {
        "rest": url("REST API"),
        "stream": url("Market data stream"),
        "ws_api": url("WebSocket API (user data stream)"),
    })


def _choices(fixed: dict[str, str], declared: dict[str, str]) -> tuple[list[str], str]:
    """The names a key takes (the bot's own, then the venues') and the sentence on each."""
    every = {**fixed, **declared}
    return list(every), "; ".join(f"{name}: {text}" for name, text in every.items()) + "."


def _broker_type() -> dict[str, Any]:
    names, text = _choices(SIMULATED_BROKERS, venues().broker_types)
    return _enum(f"Where orders go. {text}", names)


def _data_source() -> dict[str, Any]:
    names, text = _choices({FILE_SOURCE: FILE_SOURCE_TEXT}, venues().data_sources)
    return _enum(f"Where bars come from. {text}", names)


def _venue_sections() -> dict[str, Any]:
    """Each venue's own config section, as the venue declares it."""
    return {key: dict(venue.section_schema) for key, venue in venues().sections().items()
            if venue.section_schema is not None}


def _symbols(description: str) -> dict[str, Any]:
    """A list of symbols, each as the venue spells it, each once."""
    return {"type": "array", "description": description, "minItems": 1,
            "maxItems": MAX_SYMBOLS, "uniqueItems": True,
            "items": _scalar("string", "One symbol, as the venue spells it.", min_length=1,
                             max_length=MAX_SYMBOL)}


TIE_BREAK = ("When several symbols signal an entry on the same bar and fewer position slots are "
             "free, the symbols earlier in trading.symbols win.")


def _basket_runs_on() -> str:
    return (f"In this version a basket runs on data_source {listed(basket_sources())} with "
            f"broker {listed(basket_brokers())}.")


def _align_seconds() -> dict[str, Any]:
    defaults = [f"{name} {venue.align_seconds:g} s" for venue in venues()
                for name in venue.data_sources]
    return _scalar(
        "number", "A basket only: a time step runs once every symbol's bar for that time is in, "
        "or this many seconds after the first of them arrived, whichever comes first; a bar "
        "that comes later is logged and dropped, never delivered twice or out of order. "
        f"Absent: the data source's own ({', '.join(defaults)}); the {FILE_SOURCE} source "
        "marks each step complete as it sends it and never waits.", minimum=0,
        maximum=MAX_SECONDS)


def _mixin_spec(kind: str) -> dict[str, Any]:
    prefix = "e_" if kind == "entry" else "x_"
    return _obj(f"One {kind} mixin: its registered name and its parameters.", {
        "name": _scalar("string", f"The {kind} mixin's name (see 'tradingbot mixins').",
                        max_length=MAX_NAME),
        "params": {"type": "object", "default": {},
                   "description": f"The mixin's parameters (prefix {prefix}); omitted ones take "
                                  "the mixin's defaults."},
    }, required=("name",))


def config_schema() -> dict[str, Any]:
    """The schema the validator checks: every object closed, every key described and ranged."""
    return {
        "$schema": DRAFT,
        "title": "Trading bot config",
        "description": "One bot: broker, symbol, data feed, strategy (entry and exit mixins), "
                       "risk limits, notifications and logging.",
        "type": "object",
        "additionalProperties": False,
        "required": ["broker", "trading", "data", "strategy"],
        "$defs": {"exit_mixin": _mixin_spec("exit")},
        "properties": {
            "$schema": _scalar("string", "The JSON Schema this file follows (for editors).",
                               max_length=MAX_PATH),
            "description": _scalar("string", "Free text describing the bot.", "",
                                   max_length=MAX_TEXT),
            "version": _scalar("string", "Version of this config, for the user's own records.", "1.0",
                               max_length=MAX_NAME),
            "bot_id": _scalar("string", "The bot's id in the database, logs and client order ids; "
                              "defaults to the config file's stem (0001 for 0001.json), which "
                              f"then follows the same rule ({BOT_ID_WORDS}).",
                              pattern=BOT_ID_PATTERN, max_length=MAX_BOT_ID),
            "live_trading_confirmed": _scalar(
                "boolean", "Acknowledges that the broker trades real money (a venue's live "
                "account); the bot also needs --live on the command line.", False),
            "broker": _obj("Where orders go.", {
                "type": _broker_type(),
                "initial_balance": _scalar("number", "Starting cash of simulated brokers (mock, "
                                           "paper), in the quote currency. It does not apply to "
                                           "a venue's account: there the cash and position are "
                                           "the account's own balances.", 10000,
                                           exclusive_minimum=0, maximum=MAX_MONEY),
                "commission": _scalar("number", "Commission per fill as a fraction of its value "
                                      "(0.001 = 0.1%).", 0.001, minimum=0, maximum=0.1),
                "slippage_pct": _scalar("number", "Simulated slippage per fill, in percent.", 0,
                                        minimum=0, maximum=10),
                "endpoints": _endpoints("Where a venue's broker connects, for regional venues "
                                        "and proxies (default: the venue's own, its test "
                                        "network's for a paper account); the venue's "
                                        "environment variables win (see the README)."),
            }, required=("type",)),
            "trading": _obj("What the bot trades and how much: one symbol (symbol) or a basket "
                            "(symbols); one of the two is required.", {
                "symbol": _scalar("string", "The one symbol traded, as the venue spells it "
                                  "(BTCUSDT); for a basket use symbols instead.",
                                  min_length=1, max_length=MAX_SYMBOL),
                "symbols": _symbols("The basket: every symbol traded, as the venue spells it, "
                                    "each once ([\"ETCBTC\", \"XLMBTC\"]); instead of symbol (both "
                                    "may be given only when they name the same one symbol). "
                                    f"{TIE_BREAK} {_basket_runs_on()}"),
                "position_size": _scalar("number", "Fraction of the account's value (equity) put "
                                         "into each new position (0.1 = 10%).", 0.1,
                                         exclusive_minimum=0, maximum=1),
                "max_positions": _scalar("integer", "Most positions open at once across the "
                                         "basket; a bot holds at most one position per symbol "
                                         f"(a value above the number of symbols warns). "
                                         f"{TIE_BREAK}", 1, minimum=1, maximum=MAX_SYMBOLS),
                "max_drawdown_pct": _scalar("number", "Drawdown from the equity peak, in percent, "
                                            "that trips the kill switch (0 = off; below 100: "
                                            "a long position cannot lose more).", 0,
                                            minimum=0, exclusive_maximum=100),
                "max_exposure": _scalar("number", "Most of the account's value held in positions: "
                                        "the sum of the open positions' value over equity, as a "
                                        "fraction (1.0 = 100%); an entry that would go beyond it "
                                        "is refused.", 1.0, exclusive_minimum=0, maximum=1),
            }),
            "data": _obj("Where bars come from.", {
                "data_source": _data_source(),
                "symbol": _scalar("string", "Symbol of the feed; defaults to trading.symbol and "
                                  "must equal it when given (not with a basket).", min_length=1,
                                  max_length=MAX_SYMBOL),
                "symbols": _symbols("Symbols of the feed; default trading.symbols and must equal "
                                    "them, in the same order, when given."),
                "interval": _enum("Bar size.", INTERVALS, "1h"),
                "lookback_bars": _scalar("integer", "Bars of history loaded before going live (indicator "
                                         "warm-up).", 500, minimum=0, maximum=1_000_000),
                "retry_interval": _scalar("number", "Seconds between reconnection attempts.", 60,
                                          minimum=MIN_SECONDS, maximum=MAX_SECONDS),
                "connect_timeout_seconds": _scalar(
                    "number", "Seconds a bot whose venue data source has delivered nothing since "
                    "it started (no bar, never live) waits before it stops with an error (exit "
                    "3) naming the problem; once a source has connected it reconnects for ever. "
                    "0 = wait for ever.", 60, minimum=0, maximum=MAX_SECONDS),
                "file_path": _scalar("string", "CSV file of bars (required when data_source is "
                                     "file); relative to the directory the bot starts in. "
                                     f"{SYMBOL_PLACEHOLDER} stands for each symbol's name, one "
                                     f"file per symbol ({EXAMPLE_PATH}); a basket needs it, and it "
                                     "is the only placeholder.", min_length=1,
                                     max_length=MAX_PATH),
                "align_seconds": _align_seconds(),
                "speed": _scalar("number", "Bars per second delivered by the file source: 0 = as "
                                 f"fast as possible, else at least {MIN_SPEED:g} (about one bar "
                                 "a day).", 0, minimum=0, maximum=MAX_SPEED),
                "poll_delay_seconds": _scalar("number", "Seconds after a bar's close before a "
                                              "polled source asks for it: the service publishes "
                                              "a bar a moment after it closes.", 5,
                                              minimum=0, maximum=600),
                "endpoints": _endpoints("Where a venue's data source connects (default: the "
                                        "venue's own); a venue broker's endpoints serve its "
                                        "data too. The venue's environment variables win."),
            }, required=("data_source",)),
            "strategy": _obj("The trading rules: one entry mixin and one or more exit mixins.", {
                "type": {"type": "string", "const": "custom", "default": "custom",
                         "description": "Strategy kind; only 'custom' (entry + exit mixins)."},
                "entry_logic": _mixin_spec("entry"),
                "exit_logic": {"description": "One exit mixin, or a list of them (the first that "
                                              "fires closes the position).",
                               "anyOf": [{"type": "object", "$ref": EXIT_MIXIN_REF},
                                         {"type": "array", "minItems": 1, "maxItems": 20,
                                          "items": {"$ref": EXIT_MIXIN_REF}}]},
                "position_size": _scalar("number", "Legacy copy of trading.position_size; must "
                                         "equal it when given.", exclusive_minimum=0, maximum=1),
            }, required=("entry_logic", "exit_logic")),
            "notifications": _obj("Messages about trades, errors and the bot's state, and the "
                                  "Telegram commands (all off by default). Secrets come from the "
                                  "environment only; environment variables win over these keys.", {
                "enabled": _scalar("boolean", "Master switch for every channel.", False),
                "daily_summary_time": _scalar("string", "Time of day (UTC, HH:MM or HH:MM:SS) of "
                                              "the daily summary, to channels whose notify_on "
                                              "lists daily_summary.", "00:00",
                                              pattern=DAILY_SUMMARY_PATTERN),
                "telegram": _channel("Telegram messages and commands; the token comes from "
                                     "TELEGRAM_BOT_TOKEN, another Bot API server from "
                                     "TELEGRAM_API_URL.", 20,
                                     chat_id=_scalar("string", "Chat to message and to take "
                                                     "commands from; TELEGRAM_CHAT_ID wins.",
                                                     max_length=MAX_NAME),
                                     allowed_user_ids={
                                         "type": "array", "maxItems": 100,
                                         "description": "Telegram user ids whose commands are "
                                         "obeyed (in a group chat nobody's are without it; in a "
                                         "private chat its owner's); TELEGRAM_ALLOWED_USER_IDS "
                                         "(comma separated) wins.",
                                         "items": {"type": "integer", "description": "One user "
                                                   "id, as @userinfobot shows it."}}),
                "email": _channel(
                    "E-mail through SMTP; credentials come from SMTP_USERNAME and SMTP_PASSWORD.", 10,
                    smtp_host=_scalar("string", "SMTP server host; SMTP_HOST wins.", "localhost",
                                      max_length=MAX_PATH),
                    smtp_port=_scalar("integer", "SMTP server port; SMTP_PORT wins.", 587,
                                      minimum=1, maximum=65535),
                    security=_enum("starttls: upgrade a plain connection; ssl: TLS from the start; "
                                   "none: no encryption (a local relay only); SMTP_SECURITY wins.",
                                   EMAIL_SECURITY, "starttls"),
                    from_addr=_scalar("string", "Sender address; SMTP_FROM wins (default: "
                                      "SMTP_USERNAME).", max_length=MAX_PATH),
                    to_addrs={"type": "array", "description": "Recipient addresses; EMAIL_TO "
                                                              "(comma separated) wins.",
                              "maxItems": 100,
                              "items": _scalar("string", "One recipient address.", min_length=1,
                                               max_length=MAX_PATH)}),
                "webhook": _channel(
                    "JSON POSTed to a URL.", 30,
                    url=_scalar("string", "Where to POST; WEBHOOK_URL wins.", min_length=1,
                                max_length=MAX_PATH),
                    format=_enum("text: {\"text\": message} (Slack, Discord, Mattermost); json: "
                                 "the raw event with the bot id.", WEBHOOK_FORMATS, "text")),
            }),
            "risk_management": _obj("Limits checked before every entry, and protective exits.", {
                "stop_loss_pct": _scalar("number", "Exit when the price falls this many percent below "
                                         "the entry (0 = off; below 100: a stop of 100% sits at "
                                         "price 0).", 0, minimum=0, exclusive_maximum=100),
                "take_profit_pct": _scalar("number", "Exit when the price rises this many percent "
                                           "above the entry (0 = off).", 0, minimum=0,
                                           maximum=MAX_PERCENT_GAIN),
                "trailing_stop": _obj("A stop that follows the highest price since entry.", {
                    "enabled": _scalar("boolean", "Use the trailing stop.", False),
                    "activation_pct": _scalar("number", "Gain in percent before the stop starts "
                                              "trailing (0 = at once).", 0, minimum=0,
                                              maximum=MAX_PERCENT_GAIN),
                    "trailing_pct": _scalar("number", "Distance of the stop below the highest price, "
                                            "in percent (more than 0 when enabled).", 2.0,
                                            minimum=0, exclusive_maximum=100),
                }),
                "max_daily_trades": _scalar("integer", "Most entries per UTC day (0 = off).", 0,
                                            minimum=0, maximum=100_000),
                "max_daily_loss": _scalar("number", "Realised loss per UTC day, in the quote currency, "
                                          "that stops new entries (0 = off).", 0, minimum=0,
                                          maximum=MAX_MONEY),
                "max_orders_per_minute": _scalar("integer", "Most orders sent per minute (0 = off).",
                                                 10, minimum=0, maximum=100_000),
                "max_consecutive_errors": _scalar("integer", "Errors in a row that trip the kill "
                                                  "switch (0 = off).", 5, minimum=0,
                                                  maximum=1_000_000),
            }),
            "logging": _obj("Log output and what is recorded.", {
                "level": _enum("Log level.", LOG_LEVELS, "INFO"),
                "save_trades": _scalar("boolean", "Append orders and trades as JSON lines under "
                                       "logs/.", True),
                "save_equity_curve": _scalar("boolean", "Record the account's value every bar.", True),
                "log_file": _scalar("string", "Log file; defaults to "
                                    "logs/live/trading_bot_<bot_id>.log; a file (not a folder), "
                                    "outside /proc, /sys and /dev.", min_length=1,
                                    max_length=MAX_PATH),
                "heartbeat_seconds": _scalar("number", "Seconds between status lines in the log.", 60,
                                             minimum=MIN_SECONDS, maximum=MAX_SECONDS),
            }),
            "database": _obj("Where orders, trades and positions are stored.", {
                "url": _scalar("string", "SQLAlchemy URL; defaults to SQLite at "
                               "data/<bot_id>.sqlite. TRADINGBOT_DATABASE_URL or DATABASE_URL in "
                               "the environment wins over it, --db over both. Keep passwords "
                               "out of it: PGPASSWORD or ~/.pgpass.",
                               min_length=1, max_length=MAX_PATH),
            }),
            "shutdown": _obj("What happens when the bot stops.", {
                "close_positions": _scalar("boolean", "Close open positions on shutdown.", False),
            }),
            **_venue_sections(),
        },
    }


def _params_rule(cls: type[Mixin]) -> dict[str, Any]:
    """``if name is X then params are X's declared params`` (what editors complete from)."""
    params = {p.name: p.json_schema() for p in cls.params}
    return {"if": {"properties": {"name": {"const": cls.name}}, "required": ["name"]},
            "then": {"properties": {"params": {"description": f"{cls.name}: {cls.rule}",
                                               "properties": params,
                                               "additionalProperties": False}}}}


def _add_mixins(spec: dict[str, Any], classes: list[type[Mixin]]) -> None:
    # examples, not enum: a mixin from a plugin installed later must stay valid
    spec["properties"]["name"]["examples"] = [cls.name for cls in classes]
    if classes:
        spec["allOf"] = [_params_rule(cls) for cls in classes]


def export_schema(registry: MixinRegistry | None = None) -> dict[str, Any]:
    """The published schema: ``config_schema()`` plus per-mixin params, the file_path rule and
    the trading section's rule that symbol or symbols is given (the validator checks those two
    in its second pass, with clearer messages)."""
    registry = default_registry() if registry is None else registry
    schema = config_schema()
    props = schema["properties"]
    strategy = props["strategy"]["properties"]
    _add_mixins(strategy["entry_logic"], registry.classes("entry"))
    _add_mixins(schema["$defs"]["exit_mixin"], registry.classes("exit"))
    props["data"]["if"] = {"properties": {"data_source": {"const": "file"}},
                           "required": ["data_source"]}
    props["data"]["then"] = {"required": ["file_path"]}
    props["trading"]["anyOf"] = [{"required": ["symbol"]}, {"required": ["symbols"]}]
    return schema


def schema_text(registry: MixinRegistry | None = None) -> str:
    """The exported schema exactly as ``tradingbot schema`` prints it."""
    return json.dumps(export_schema(registry), indent=2, ensure_ascii=False) + "\n"


def apply_defaults(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with every missing key that has a default filled in.

    Absent optional sections (notifications, logging, ...) are created and filled too. Keys without
    a default (``data.symbol``, ``bot_id``) stay absent; mixin params are left as given.
    """
    result = copy.deepcopy(dict(doc))
    required = schema.get("required", ())
    for key, sub in schema.get("properties", {}).items():
        if key not in result:
            if "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and "properties" in sub and key not in required:
                result[key] = {}
            else:
                continue
        if isinstance(result[key], dict) and "properties" in sub:
            result[key] = apply_defaults(result[key], sub)
    return result

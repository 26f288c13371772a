"""Check bot configs and report every problem at once, each with its JSON path.

Two passes over a document: the JSON Schema (``trading.config.schema``), with each error rewritten for a
person, then semantic checks the schema cannot express (mixins and their params through the
registry, keys that must agree, what a broker or data source can do). Missing secrets and an
enabled channel's missing settings (``notify.settings``) are warnings: the config is fine, the
environment is not ready yet, and the bot runs without that channel.

``tradingbot validate`` (``trading.cli.validate``) prints what this finds.
"""
from __future__ import annotations

import difflib
import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from jsonschema import Draft202012Validator, ValidationError

from strategies.mixins.registry import Kind, MixinRegistry, default_registry
from notify.settings import resolve as resolve_channel
from trading.config.basket import (basket_venue_problems, basket_warnings, file_path_problems,
                                   symbol_problems)
from trading.config.files import MAX_DEPTH, JsonPath, Problem, document_problems
from trading.config.files import section as _section
from trading.config.names import file_bot_id_problem, log_file_problem
from trading.config.schema import (BOT_ID_PATTERN, BOT_ID_WORDS, DAILY_SUMMARY_PATTERN, MAX_NAME,
                                   MIN_SPEED, URL_PATTERN, apply_defaults,
                                   config_schema)
from trading.config.units import percent_warnings
from trading.core.settings import CHANNELS, FILE_SOURCE, INTERVALS
from trading.core.text import printable, shortened
from trading.venues.registry import Venue, venues

MAX_KEY_SHOWN = 40  # characters of a key quoted in a JSON path
MAX_VALUE_SHOWN = 60  # characters of a value quoted in a message
MAX_MESSAGE = 400  # characters of one message: a long value never floods the terminal


_TYPE_WORDS = {"object": "an object", "array": "an array", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "true or false",
               "null": "null"}
_PATTERN_WORDS = {BOT_ID_PATTERN: BOT_ID_WORDS,
                  DAILY_SUMMARY_PATTERN: "a UTC time of day, HH:MM or HH:MM:SS",
                  URL_PATTERN: "a URL such as https://host/path or wss://host:port/path"}
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


@dataclass(frozen=True)
class ValidationReport:
    """What validation found. ``document`` (defaults filled) is set only when there are no errors.

    Each error and warning is one line: ``source: json.path: message``.
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def json_path(parts: JsonPath) -> str:
    """``("strategy", "exit_logic", 1, "name")`` -> ``strategy.exit_logic[1].name``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        if len(part) > MAX_KEY_SHOWN:
            part = part[:MAX_KEY_SHOWN] + "..."
        if re.fullmatch(r"[A-Za-z_$][\w$-]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(top level)"


def _show(value: Any) -> str:
    """A value as the user wrote it, short (strings, numbers of any size, anything)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return repr(value if len(value) <= MAX_VALUE_SHOWN else value[:MAX_VALUE_SHOWN - 3] + "...")
    text = getattr(value, "text", None) or json.dumps(value)  # the number as written
    return text if len(text) <= MAX_VALUE_SHOWN else text[:MAX_VALUE_SHOWN - 3] + "..."


def _hint(word: Any, choices: Any) -> str:
    """``; did you mean 'x'?`` for a near miss, else nothing."""
    if not isinstance(word, str) or len(word) > MAX_VALUE_SHOWN:
        return ""
    by_case = {str(c).lower(): str(c) for c in choices}  # 'info' -> 'INFO'
    match = difflib.get_close_matches(word.lower(), by_case, n=1, cutoff=0.6)
    return f"; did you mean '{by_case[match[0]]}'?" if match else ""


# --- pass 1: the schema, rewritten for people --------------------------------------------------

@functools.cache
def _validator_for(registry: Any) -> Draft202012Validator:
    return Draft202012Validator(config_schema())


def _validator() -> Draft202012Validator:
    """The schema's validator for the venues declared now (an installed plugin adds some)."""
    return _validator_for(venues())


def _json_type_matches(schema: Mapping[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    return (kind == "object" and isinstance(value, dict)) or (kind == "array" and isinstance(value, list))


def _explain(error: ValidationError) -> Iterator[Problem]:
    """One schema error as (path, message) problems; alternatives report the branch that fits."""
    path: JsonPath = tuple(error.absolute_path)
    kind, rule, value = error.validator, error.validator_value, error.instance
    if kind in ("anyOf", "oneOf"):
        fitting = [i for i, branch in enumerate(rule) if _json_type_matches(branch, value)]
        if fitting:
            for sub in error.context or ():
                if sub.schema_path[0] == fitting[0]:
                    yield from _explain(sub)
            return
        wanted = " or ".join(_TYPE_WORDS.get(b.get("type"), str(b.get("type"))) for b in rule)
        yield path, f"must be {wanted}, got {_show(value)}"
    elif kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                yield path + (key,), f"unknown key {_show(key)}" + (
                    _hint(key, allowed) or f" (allowed: {', '.join(allowed)})")
    elif kind == "required":
        for key in rule:
            if key not in value:
                yield path, f"missing required key '{key}'"
    elif kind == "type":
        kinds = [rule] if isinstance(rule, str) else rule
        yield path, f"must be {' or '.join(_TYPE_WORDS.get(k, k) for k in kinds)}, got {_show(value)}"
    elif kind == "enum":
        yield path, (f"must be one of {', '.join(map(str, rule))}, got {_show(value)}"
                     + _hint(value, rule))
    elif kind == "const":
        yield path, f"must be {_show(rule)}, got {_show(value)}"
    elif kind in _BOUNDS:
        yield path, f"must be {_BOUNDS[kind]} {_show(rule)}, got {_show(value)}"
    elif kind in ("minItems", "minLength") and rule == 1:
        yield path, "must not be empty"
    elif kind == "maxLength":
        yield path, f"must be at most {rule:,} characters long, got {len(value):,}"
    elif kind == "maxItems":
        yield path, f"must list at most {rule} items, got {len(value)}"
    elif kind == "pattern":
        words = f" ({_PATTERN_WORDS[rule]})" if rule in _PATTERN_WORDS else ""
        yield path, f"must match {rule}{words}, got {_show(value)}"
    elif kind == "uniqueItems":
        repeated = [i for i, item in enumerate(value) if item in value[:i]]
        for index in repeated:
            yield path + (index,), (f"{_show(value[index])} is listed twice (also at "
                                    f"[{value.index(value[index])}]); list each once")
        if not repeated:  # should jsonschema and Python disagree on what is equal
            yield path, "must not list the same item twice"
    else:  # a keyword this project's schema does not use yet
        yield path, error.message


def _schema_problems(doc: Any) -> list[Problem]:
    return [p for error in _validator().iter_errors(doc) for p in _explain(error)]


# --- pass 2: what the schema cannot say -------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    """``value`` when it is a string, else None: names are looked up only as strings (an object
    or an array given for one is pass 1's to report, and unhashable)."""
    return value if isinstance(value, str) else None


def _mixin_specs(doc: Mapping[str, Any]) -> Iterator[tuple[Kind, JsonPath, Any]]:
    strategy = _section(doc, "strategy")
    yield "entry", ("strategy", "entry_logic"), strategy.get("entry_logic")
    exits = strategy.get("exit_logic")
    if isinstance(exits, list):
        for i, spec in enumerate(exits):
            yield "exit", ("strategy", "exit_logic", i), spec
    else:
        yield "exit", ("strategy", "exit_logic"), exits


def _mixin_problems(doc: Mapping[str, Any], registry: MixinRegistry) -> Iterator[Problem]:
    for kind, path, spec in _mixin_specs(doc):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) \
                or len(spec["name"]) > MAX_NAME:  # pass 1 says it is too long
            continue
        name, params = spec["name"], spec.get("params", {})
        other: Kind = "exit" if kind == "entry" else "entry"
        if registry.find(kind, name) is None and registry.find(other, name) is not None:
            yield path + ("name",), (f"'{name}' is an {other} mixin, not an {kind} mixin; "
                                     f"it belongs under strategy.{other}_logic")
            continue
        for key, message in registry.check(kind, name, params if isinstance(params, dict) else {}):
            yield (path + ("name",) if key is None else path + ("params", key)), message


def _consistency_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    trading, data, strategy = _section(doc, "trading"), _section(doc, "data"), _section(doc, "strategy")
    size, legacy = trading.get("position_size"), strategy.get("position_size")
    if _is_number(size) and _is_number(legacy) and size != legacy:
        yield ("strategy", "position_size"), (
            f"must equal trading.position_size ({_show(size)}), got {_show(legacy)}; "
            "remove it or make the two equal")
    source, interval = _text(data.get("data_source")), _text(data.get("interval"))
    if source == FILE_SOURCE and "file_path" not in data:
        yield ("data",), "missing required key 'file_path' (data_source 'file' reads bars from a CSV file)"
    registry = venues()
    broker = _text(_section(doc, "broker").get("type"))
    broker_venue = registry.for_broker(broker) if broker else None
    data_venue = registry.for_data_source(source) if source else None
    if broker_venue is not None and data_venue is not broker_venue and \
            (data_venue is not None or source == FILE_SOURCE):
        own = " or ".join(f"'{s}'" for s in broker_venue.data_sources) or "its own venue's"
        yield ("data", "data_source"), (
            f"broker '{broker}' trades at {broker_venue.title}, on its prices: it needs "
            f"data_source {own}, got {_show(source)} (trade other data with the paper or mock "
            "broker)")
    served = data_venue.intervals if data_venue is not None else None
    if served is not None and interval in INTERVALS and interval not in served:
        yield ("data", "interval"), (f"{source} cannot serve {_show(interval)} bars "
                                     f"(it serves {' '.join(served)})")
    trailing = _section(doc, "risk_management", "trailing_stop").get("enabled") is True
    if broker_venue is not None and trailing and not broker_venue.trailing_stop_order:
        yield ("risk_management", "trailing_stop", "enabled"), (
            f"broker '{broker}' does not place the trailing stop as an order in this version; "
            "turn it off and use the TrailingStopExitMixin exit instead")


def _data_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    speed = _section(doc, "data").get("speed")
    if _is_number(speed) and 0 < speed < MIN_SPEED:
        yield ("data", "speed"), (f"must be 0 (as fast as possible) or at least {MIN_SPEED:g} bars "
                                  f"per second (about one bar a day), got {_show(speed)}")


def _log_file_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """A log file the bot could not open: a folder, or a file of the system's."""
    log_file = _section(doc, "logging").get("log_file")
    if isinstance(log_file, str) and log_file and "\x00" not in log_file:  # else pass 0/1 says
        problem = log_file_problem(log_file)
        if problem:
            yield ("logging", "log_file"), problem


def _bot_id_problems(doc: Mapping[str, Any], path: Path | None) -> Iterator[Problem]:
    """Without ``bot_id`` the file's name is the bot id: the same rule applies to it."""
    problem = None if path is None or "bot_id" in doc else file_bot_id_problem(path)
    if problem:
        yield ("bot_id",), problem


def _risk_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    trailing = _section(doc, "risk_management", "trailing_stop")
    if trailing.get("enabled") is True and trailing.get("trailing_pct") == 0:
        yield ("risk_management", "trailing_stop", "trailing_pct"), (
            "must be > 0 when the trailing stop is enabled (set enabled to false to turn it off)")


def _channel_on(doc: Mapping[str, Any], channel: str) -> dict[str, Any] | None:
    """The channel's settings when it will send (it and notifications are enabled), else None."""
    settings = _section(doc, "notifications", channel)
    on = _section(doc, "notifications").get("enabled") is True and settings.get("enabled") is True
    return settings if on else None


# --- warnings: the environment the run will need ----------------------------------------------

def _missing_env(names: list[str], env: Mapping[str, str], purpose: str) -> str | None:
    missing = [n for n in names if not env.get(n)]
    if not missing:
        return None
    if len(missing) == 1:
        return f"environment variable {missing[0]} is not set; {purpose} needs it"
    return f"environment variables {', '.join(missing)} are not set; {purpose} needs them"


def _used_venues(doc: Mapping[str, Any]) -> list[Venue]:
    """The venues this config uses (its broker's, its data source's), each once."""
    registry = venues()
    broker = _text(_section(doc, "broker").get("type"))
    source = _text(_section(doc, "data").get("data_source"))
    found = [registry.for_broker(broker) if broker else None,
             registry.for_data_source(source) if source else None]
    return list({v.name: v for v in found if v is not None}.values())


def _venue_warnings(doc: Mapping[str, Any], env: Mapping[str, str],
                    errors: set[JsonPath]) -> Iterator[Problem]:
    """What the broker's venue needs from the environment and the owner, and what each venue
    the config uses says about it (on a document without errors, its defaults filled in)."""
    broker = _text(_section(doc, "broker").get("type"))
    broker_venue = venues().for_broker(broker) if broker else None
    if broker_venue is not None:
        message = _missing_env(list(broker_venue.secrets(broker)), env, f"broker '{broker}'")
        if message:
            yield ("broker", "type"), message
        real = broker_venue.real_money(broker, None)
        if real is not False and doc.get("live_trading_confirmed") is not True:
            when = (f" when {broker_venue.live_account}" if real is None and
                    broker_venue.live_account else "")
            yield ("live_trading_confirmed",), (
                f"broker '{broker}' trades real money{when}; the bot "
                f"{'then ' if when else ''}refuses to trade until both "
                "\"live_trading_confirmed\": true is set and --live is given on the command line")
    if not errors:
        defaulted = apply_defaults(doc, config_schema())
        for venue in _used_venues(doc):
            yield from venue.warnings(defaulted, env)


def _warnings(doc: Mapping[str, Any], env: Mapping[str, str],
              errors: set[JsonPath]) -> Iterator[Problem]:
    """What the environment lacks; a channel whose settings have errors is not resolved."""
    yield from basket_warnings(doc)  # settings the number of symbols leaves idle
    yield from (p for p in percent_warnings(doc) if p[0] not in errors)  # 0.03 meant as 3%
    yield from _venue_warnings(doc, env, errors)
    for channel in CHANNELS:
        settings = _channel_on(doc, channel)
        if settings is not None and not _crosses(("notifications", channel), errors):
            resolved = resolve_channel(channel, settings, env)
            if resolved.missing:
                yield ("notifications", channel), resolved.explain(channel)


# --- putting it together ----------------------------------------------------------------------

def _document_order(doc: Any, path: JsonPath) -> list[int]:
    """Sort key: where the path's keys stand in the document, so problems read top to bottom."""
    key, node = [], doc
    for part in path:
        if isinstance(node, dict) and part in node:
            key.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            key.append(part)
            node = node[part]
        else:
            key.append(len(node) if isinstance(node, (dict, list)) else 0)
            node = None
    return key


def _lines(source: str, doc: Any, problems: list[Problem]) -> list[str]:
    ordered = sorted(problems, key=lambda p: _document_order(doc, p[0]))
    return list(dict.fromkeys(printable(f"{source}: {json_path(path)}: "
                                        f"{shortened(msg, MAX_MESSAGE)}")
                              for path, msg in ordered))


def _beneath(path: JsonPath, reported: set[JsonPath]) -> bool:
    """``path`` or one of its parents is in ``reported``."""
    return any(path[:n] in reported for n in range(len(path) + 1))


def _crosses(path: JsonPath, reported: set[JsonPath]) -> bool:
    """A path in ``reported`` is ``path``, one of its parents or one of its keys."""
    return _beneath(path, reported) or any(p[:len(path)] == path for p in reported)


def validate_document(raw: Any, source: str, *, path: Path | None = None,
                      registry: MixinRegistry | None = None,
                      env: Mapping[str, str] | None = None) -> ValidationReport:
    """Validate a parsed config; return every error and warning, and the document with defaults.

    ``source`` names the file in messages; ``path`` is the file itself, whose name is the bot id
    when the document sets none (and must then be a valid one). ``registry`` defaults to the
    discovered mixins and ``env`` to ``os.environ`` (only names of missing variables are
    reported, never values).

    What JSON allows and no config may hold comes first (keys given twice, non-finite numbers,
    NUL or lone surrogates in strings, deep nesting); the other checks do not repeat a problem
    at or beneath a path it already named. Nothing here raises on any document ``json`` can give.
    """
    found = list(document_problems(raw))
    if any(len(where) > MAX_DEPTH for where, _ in found):  # later passes would recurse into it
        return ValidationReport(errors=_lines(source, raw, found))
    if not isinstance(raw, dict):
        return ValidationReport(errors=[printable(
            f"{source}: (top level): the config must be a JSON object ({{...}}), got {_show(raw)}")])
    registry = default_registry() if registry is None else registry
    reported = {p for p, _ in found}
    problems = _schema_problems(raw)
    problems += [*_mixin_problems(raw, registry), *symbol_problems(raw), *file_path_problems(raw),
                 *basket_venue_problems(raw), *_consistency_problems(raw), *_data_problems(raw),
                 *_risk_problems(raw), *_log_file_problems(raw), *_bot_id_problems(raw, path),
                 *(p for venue in _used_venues(raw) for p in venue.problems(raw))]
    problems = found + [p for p in problems if not _beneath(p[0], reported)]
    errors = _lines(source, raw, problems)
    wrong = {where for where, _ in problems}
    warnings = _lines(source, raw, list(_warnings(raw, os.environ if env is None else env, wrong)))
    document = None if errors else apply_defaults(raw, config_schema())
    return ValidationReport(errors=errors, warnings=warnings, document=document)

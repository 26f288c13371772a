"""Malformed config variants, generated deterministically, each with what a user must see.

Families:

- ``types``: every key of a complete config given a value of another kind or a hostile one
  (an object, an array, NaN, a lone surrogate, a NUL, 100,000 characters, 10**30, ...).
- ``parse``: text only a parser sees: keys given twice, ``NaN``/``Infinity``/``1e400`` and
  5,000-digit numbers written in the file, ``\\ud800`` and ``\\u0000`` escapes in values and
  keys, deep nesting, other encodings, broken syntax, a top level that is no object.
- ``files``: what is no config file: a FIFO, a folder, a device, a missing or a 2 MB file.
- ``semantic``: missing and unknown keys, every bound of the schema and of every mixin param
  just crossed (percentages of 100 among them), speed 1e-300, bot ids from file names, log
  files in /proc or a folder.
- ``random``: 2 to 4 of the ``types`` mutations at once, from a fixed seed.

A variant expects an exit code (0 valid, 1 invalid, 2 unreadable) and, for exit 1, a JSON path
an error line must name (the line may name a key beneath it). ``strict=False`` marks a value
that may be acceptable where it is (``0``, ``"x"``): the outcome must still be 0 or 1 with
well-formed lines, and a config that passes must build with sane values.
"""
from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from typing import Any, Iterator

from strategies.mixins.registry import default_registry
from trading.config.schema import config_schema

JsonPath = tuple[str | int, ...]
SEED = 20240607
RANDOM_VARIANTS = 200

BASE: dict[str, Any] = {
    "$schema": "../schema/trading_bot.schema.json",
    "description": "Hardening corpus base: every key of the schema set",
    "version": "1.0",
    "bot_id": "7001",
    "live_trading_confirmed": False,
    "broker": {"type": "paper", "initial_balance": 1000.0, "commission": 0.001, "slippage_pct": 0.05},
    "trading": {"symbol": "ETHBTC", "position_size": 0.1, "max_positions": 1,
                "max_drawdown_pct": 20.0, "max_exposure": 1.0},
    "data": {"data_source": "file", "symbol": "ETHBTC", "interval": "5m", "lookback_bars": 100,
             "retry_interval": 60, "file_path": "data/sample/ETHBTC-5m.csv", "speed": 0},
    "strategy": {
        "type": "custom",
        "entry_logic": {"name": "RSIBBVolumeEntryMixin",
                        "params": {"e_rsi_period": 14, "e_rsi_oversold": 30, "e_bb_period": 20,
                                   "e_bb_dev": 2.0, "e_vol_ma_period": 20,
                                   "e_min_volume_ratio": 1.5}},
        "exit_logic": [{"name": "RSIBBExitMixin", "params": {"x_rsi_period": 14,
                                                             "x_rsi_overbought": 70}},
                       {"name": "TrailingStopExitMixin", "params": {"x_trail_pct": 2.0,
                                                                    "x_activation_pct": 1.0}},
                       {"name": "FixedRatioExitMixin", "params": {"x_take_profit_pct": 10.0,
                                                                  "x_stop_loss_pct": 5.0}}],
        "position_size": 0.1,
    },
    "notifications": {  # every channel on: the validator resolves each channel's settings
        "enabled": True, "daily_summary_time": "00:00",
        "telegram": {"enabled": True, "notify_on": ["trade_entry", "error"], "chat_id": "42",
                     "timeout_seconds": 10, "rate_limit_per_minute": 20},
        "email": {"enabled": True, "notify_on": ["trade_exit"], "smtp_host": "localhost",
                  "smtp_port": 587, "security": "starttls", "from_addr": "bot@example.org",
                  "to_addrs": ["me@example.org"], "timeout_seconds": 10,
                  "rate_limit_per_minute": 10},
        "webhook": {"enabled": True, "notify_on": ["error"], "url": "http://127.0.0.1:9/hook",
                    "timeout_seconds": 10, "rate_limit_per_minute": 30, "format": "json"},
    },
    "risk_management": {"stop_loss_pct": 5.0, "take_profit_pct": 10.0,
                        "trailing_stop": {"enabled": False, "activation_pct": 3.0,
                                          "trailing_pct": 2.0},
                        "max_daily_trades": 10, "max_daily_loss": 50.0,
                        "max_orders_per_minute": 10, "max_consecutive_errors": 5},
    "logging": {"level": "INFO", "save_trades": True, "save_equity_curve": True,
                "log_file": "logs/live/7001.log", "heartbeat_seconds": 60},
    "database": {"url": "sqlite:///data/7001.sqlite"},
    "shutdown": {"close_positions": False},
}

# values no key may hold, wherever they are put
HOSTILE: dict[str, Any] = {
    "NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf"),
    "lone surrogate": "\ud800", "NUL": "a\x00b", "100k characters": "x" * 100_000,
}
# values that are wrong for most keys but right for some
ODD: dict[str, Any] = {
    "object": {"a": 1}, "empty object": {}, "array": [1], "empty array": [], "null": None,
    "true": True, "string": "x", "empty string": "", "zero": 0, "minus one": -1,
    "10**30": 10**30, "1e-300": 1e-300, "1e300": 1e300, "unicode": "ünïcødé ✓",
}


@dataclass(frozen=True)
class ConfigVariant:
    """One malformed config and the outcome it must have."""

    family: str
    name: str
    content: bytes | None  # None: a special file (``special``)
    expect_code: int  # 0 valid, 1 invalid, 2 unreadable
    expect_path: str | None = None  # exit 1: a JSON path an error line names (or a key beneath)
    strict: bool = True
    file_name: str = "7001.json"
    special: str | None = None  # fifo | folder | device | missing


def json_path(parts: JsonPath) -> str:
    """The validator's spelling of a path (``strategy.exit_logic[1].name``), for simple keys."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def encode(doc: Any) -> bytes:
    """JSON as Python writes it (NaN and Infinity as bare words, surrogates as escapes)."""
    return json.dumps(doc, indent=1).encode("utf-8")


def paths(node: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every key and array item under ``node``, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from paths(value, prefix + (key,))


def put(doc: Any, path: JsonPath, value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def with_value(path: JsonPath, value: Any) -> bytes:
    doc = copy.deepcopy(BASE)
    put(doc, path, value)
    return encode(doc)


# --- families ------------------------------------------------------------------------------------

def type_variants() -> Iterator[ConfigVariant]:
    for path in paths(BASE):
        where = json_path(path)
        for label, value in HOSTILE.items():
            yield ConfigVariant("types", f"{where} = {label}", with_value(path, value), 1, where)
        for label, value in ODD.items():
            yield ConfigVariant("types", f"{where} = {label}", with_value(path, value), 1, where,
                                strict=False)


def _numeric_paths() -> list[JsonPath]:
    return [p for p in paths(BASE) if isinstance(_get(BASE, p), (int, float))
            and not isinstance(_get(BASE, p), bool)]


def _string_paths() -> list[JsonPath]:
    return [p for p in paths(BASE) if isinstance(_get(BASE, p), str)]


def _object_paths() -> list[JsonPath]:
    return [()] + [p for p in paths(BASE) if isinstance(_get(BASE, p), dict)]


def _get(doc: Any, path: JsonPath) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _text_with(path: JsonPath, literal: str) -> bytes:
    """The base config with the value at ``path`` written as ``literal`` (raw JSON text)."""
    marker = "__LITERAL__"
    return with_value(path, marker).replace(json.dumps(marker).encode(), literal.encode())


def parse_variants() -> Iterator[ConfigVariant]:
    for path in _numeric_paths():
        where = json_path(path)
        for literal in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e999", "9" * 5000):
            yield ConfigVariant("parse", f"{where} written as {literal[:12]}",
                                _text_with(path, literal), 1, where)
    for path in _string_paths():
        where = json_path(path)
        for literal in ('"\\ud800"', '"abc\\udfff"', '"a\\u0000b"'):
            yield ConfigVariant("parse", f"{where} written as {literal}", _text_with(path, literal),
                                1, where)
    for path in _object_paths():
        first = next(iter(_get(BASE, path)))
        yield ConfigVariant("parse", f"{json_path(path + (first,))} given twice",
                            _duplicate_first_key(path, first), 1, json_path(path + (first,)))
        surrogate_key = _text_with(path + ("__KEY__",), "1").replace(b'"__KEY__"', b'"\\ud83d"')
        yield ConfigVariant("parse", f"a lone-surrogate key in {json_path(path)}", surrogate_key, 1,
                            (json_path(path) if path else "") + '["\\ud83d"]')
    yield ConfigVariant("parse", "a 100,000-character key", encode({**BASE, "k" * 100_000: 1}), 1,
                        '["' + "k" * 40 + '..."]')  # the path quotes its first 40 characters
    for depth, code in ((17, 1), (100, 1), (900, 1), (5_000, 2), (100_000, 2)):
        nested = "[" * depth + "]" * depth
        yield ConfigVariant("parse", f"an array nested {depth} deep in description",
                            _text_with(("description",), nested), code,
                            "description" if code == 1 else None)
    base = encode(BASE)
    text = base.decode()
    yield ConfigVariant("parse", "UTF-8 with a byte-order mark", b"\xef\xbb\xbf" + base, 0)
    for codec in ("utf-16", "utf-16-be", "utf-32"):
        yield ConfigVariant("parse", f"saved as {codec}", text.encode(codec), 2)
    yield ConfigVariant("parse", "a Latin-1 byte in description",
                        base.replace(b"Hardening", b"H\xe4rdening"), 2)
    yield ConfigVariant("parse", "random bytes", bytes(random.Random(SEED).randrange(256)
                                                      for _ in range(300)), 2)
    for cut in (1, len(base) // 3, len(base) // 2, len(base) - 2):
        yield ConfigVariant("parse", f"cut after {cut} bytes", base[:cut], 2)
    for label, broken in (("empty", b""), ("blank", b"  \n\t\n"), ("trailing garbage", base + b"x"),
                          ("a comment", b"// bot\n" + base), ("single quotes", base.replace(b'"', b"'")),
                          ("a trailing comma", base[:-2] + b",\n}"), ("two documents", base + base)):
        yield ConfigVariant("parse", label, broken, 2)
    for label, top in (("an array", []), ("a string", "x"), ("a number", 1), ("null", None),
                       ("true", True), ("NaN", float("nan"))):
        yield ConfigVariant("parse", f"the top level is {label}", encode(top), 1, "(top level)")


def _duplicate_first_key(path: JsonPath, key: str) -> bytes:
    marker = "__DUPLICATE__"
    doc = copy.deepcopy(BASE)
    obj = _get(doc, path)
    value = obj[key]
    rebuilt = {marker: None, **obj}
    obj.clear()
    obj.update(rebuilt)
    pair = f"{json.dumps(key)}: {json.dumps(value)}"
    return encode(doc).replace(f"{json.dumps(marker)}: null".encode(), pair.encode())


def file_variants() -> Iterator[ConfigVariant]:
    for special in ("fifo", "folder", "device", "missing"):
        yield ConfigVariant("files", f"the config path is a {special}", None, 2, special=special)
    yield ConfigVariant("files", "a 2 MB file", encode({**BASE, "description": "x" * 2_000_000}), 2)
    yield ConfigVariant("files", "a 100 KB description", encode({**BASE, "description": "x" * 100_000}),
                        1, "description")


def _bounds(schema: dict[str, Any], path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any, str]]:
    """(path, value, why) just past every bound the schema sets on a key of the base config."""
    for key, sub in schema.get("properties", {}).items():
        here = path + (key,)
        if "properties" in sub:
            yield from _bounds(sub, here)
            continue
        step = 1 if sub.get("type") == "integer" else 1e-9
        if "minimum" in sub:
            yield here, sub["minimum"] - step, "below its minimum"
        if "exclusiveMinimum" in sub:
            yield here, sub["exclusiveMinimum"], "at its exclusive minimum"
        if "maximum" in sub:
            above = sub["maximum"] + 1 if step == 1 else sub["maximum"] * (1 + 1e-9) + step
            yield here, above, "above its maximum"
        if "exclusiveMaximum" in sub:
            yield here, sub["exclusiveMaximum"], "at its exclusive maximum"
        if "maxLength" in sub:
            yield here, "x" * (sub["maxLength"] + 1), "one character too long"
        if sub.get("minLength") == 1:
            yield here, "", "empty"


def _mixin_bounds() -> Iterator[tuple[JsonPath, Any, str]]:
    """Every param of every mixin named in the base, just past each of its bounds."""
    registry = default_registry()
    strategy = BASE["strategy"]
    specs = [("entry", ("strategy", "entry_logic"), strategy["entry_logic"])]
    specs += [("exit", ("strategy", "exit_logic", i), spec)
              for i, spec in enumerate(strategy["exit_logic"])]
    for kind, where, spec in specs:
        cls = registry.find(kind, spec["name"])  # type: ignore[arg-type]
        for param in cls.params:
            here = where + ("params", param.name)
            step = 1 if param.type is int else 1e-9
            if param.minimum is not None:
                yield here, param.minimum - step, "below its minimum"
            if param.maximum is not None:
                yield here, param.maximum + step, "above its maximum"
            if param.exclusive_maximum is not None:
                yield here, param.exclusive_maximum, "at its exclusive maximum"


# percentages that make no sense at 100, named so they hold whatever the schema says
PERCENT_100 = (("risk_management", "stop_loss_pct"), ("trading", "max_drawdown_pct"),
               ("risk_management", "trailing_stop", "trailing_pct"),
               ("strategy", "exit_logic", 1, "params", "x_trail_pct"),
               ("strategy", "exit_logic", 2, "params", "x_stop_loss_pct"))
BAD_FILE_NAMES = ("my bot.json", "a'b.json", "ünïcødé.json", "tab\there.json", "semi;colon.json",
                  "dollar$.json", "x" * 41 + ".json")
BAD_LOG_FILES = ("/proc/self/status", "/proc", "/sys/kernel/x.log", "/dev/null", "logs/", ".")


def semantic_variants() -> Iterator[ConfigVariant]:
    for path in _object_paths():
        where = json_path(path)
        unknown = copy.deepcopy(BASE)
        _get(unknown, path)["sybmol"] = "x"
        yield ConfigVariant("semantic", f"unknown key in {where}", encode(unknown), 1,
                            json_path(path + ("sybmol",)))
    for parent, schema in _required(config_schema()):
        for key in schema.get("required", ()):
            doc = copy.deepcopy(BASE)
            del _get(doc, parent)[key]
            yield ConfigVariant("semantic", f"{json_path(parent + (key,))} removed", encode(doc), 1,
                                json_path(parent))
    for path, value, why in [*_bounds(config_schema()), *_mixin_bounds()]:
        if _has(BASE, path[:-1]):
            yield ConfigVariant("semantic", f"{json_path(path)} {why}", with_value(path, value), 1,
                                json_path(path))
    for path in PERCENT_100:
        yield ConfigVariant("semantic", f"{json_path(path)} = 100 (a stop at price 0)",
                            with_value(path, 100), 1, json_path(path))
    for speed in (1e-300, 1e-6, -1):
        yield ConfigVariant("semantic", f"data.speed = {speed}", with_value(("data", "speed"), speed),
                            1, "data.speed")
    for speed in (1e-5, 0.5, 1e6):
        yield ConfigVariant("semantic", f"data.speed = {speed} (fine)",
                            with_value(("data", "speed"), speed), 0)
    no_id = {k: v for k, v in BASE.items() if k != "bot_id"}
    for name in BAD_FILE_NAMES:
        yield ConfigVariant("semantic", f"bot id from the file name {name!r}", encode(no_id), 1,
                            "bot_id", file_name=name)
    yield ConfigVariant("semantic", "bot id from the file name 'my-bot_2.json' (fine)",
                        encode(no_id), 0, file_name="my-bot_2.json")
    for log_file in BAD_LOG_FILES:
        yield ConfigVariant("semantic", f"logging.log_file = {log_file!r}",
                            with_value(("logging", "log_file"), log_file), 1, "logging.log_file")
    for source in ({"file": True}, ["file"]):
        yield ConfigVariant("semantic", f"data.data_source = {json.dumps(source)}",
                            with_value(("data", "data_source"), source), 1, "data.data_source")


def _required(schema: dict[str, Any], path: JsonPath = ()) -> Iterator[tuple[JsonPath, dict]]:
    if "properties" not in schema:
        return
    if _has(BASE, path):
        yield path, schema
    for key, sub in schema["properties"].items():
        yield from _required(sub, path + (key,))


def _has(doc: Any, path: JsonPath) -> bool:
    try:
        _get(doc, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def random_variants(seed: int = SEED, count: int = RANDOM_VARIANTS) -> Iterator[ConfigVariant]:
    """``count`` configs with 2 to 4 mutations each; one hostile value makes the variant strict."""
    rng = random.Random(seed)
    every_path = list(paths(BASE))
    values = list(HOSTILE.items()) + list(ODD.items())
    for n in range(count):
        doc = copy.deepcopy(BASE)
        done: list[str] = []
        hostile: str | None = None
        for _ in range(rng.randint(2, 4)):
            path = rng.choice(every_path)
            parent = _get(doc, path[:-1]) if _has(doc, path[:-1]) else None
            fits = (isinstance(parent, dict) and isinstance(path[-1], str)) or (
                isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent))
            if not fits:
                continue  # an earlier mutation replaced a parent
            label, value = rng.choice(values)
            put(doc, path, copy.deepcopy(value))
            done.append(f"{json_path(path)} = {label}")
            if label in HOSTILE and hostile is None:
                hostile = json_path(path)
        if hostile is not None and not _has(doc, _parse_simple(hostile)):
            hostile = None  # overwritten by a later mutation of a parent
        yield ConfigVariant("random", f"#{n}: " + "; ".join(done), encode(doc), 1, hostile,
                            strict=hostile is not None)


def _parse_simple(where: str) -> JsonPath:
    parts: list[str | int] = []
    for chunk in where.replace("[", ".[").split("."):
        if chunk.startswith("["):
            parts.append(int(chunk[1:-1]))
        elif chunk:
            parts.append(chunk)
    return tuple(parts)


def config_variants() -> list[ConfigVariant]:
    """Every variant of every family, in a fixed order."""
    return [*type_variants(), *parse_variants(), *file_variants(), *semantic_variants(),
            *random_variants()]

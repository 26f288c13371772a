"""Find, read and parse numbered config files: ``0001``, ``0001.json`` or any path.

Reading refuses what is no config file before it can hang or flood anything: a FIFO, a folder or
a device (opened without blocking, then checked), a file over ``MAX_CONFIG_BYTES``, text that is
not UTF-8 (a UTF-8 byte-order mark is accepted), and JSON nested deeper than the parser can go.
Those are ``UnreadableConfig`` (exit 2).

Parsing keeps what Python's ``json`` would silently accept or lose, so that the validator can
name it with its JSON path (``document_problems``): a key given twice (``json`` keeps the last),
``NaN``/``Infinity`` and numbers too large for a float (``1e400`` would become ``inf``), strings
holding a NUL or a lone surrogate, and nesting no config has.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator

from trading.core.errors import UnreadableConfig
from trading.core.files import non_regular_kind

CONFIG_DIR = Path("config") / "trading"
MAX_CONFIG_BYTES = 1_000_000  # a config is a few kilobytes
MAX_DEPTH = 16  # a config nests 5 levels; mixin params hold plain values
MAX_INT_DIGITS = 100  # Python refuses to convert more than 4300 digits: stop far below

JsonPath = tuple[str | int, ...]
Problem = tuple[JsonPath, str]

_UTF16_32_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
                  b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def resolve_config_path(name_or_path: str | Path, config_dir: Path | None = None) -> Path:
    """Turn what the user typed into a config file path.

    ``0001`` and ``0001.json`` mean ``config/trading/0001.json`` (relative to the current
    directory), and so does ``1``; anything that exists as given is used as is.
    """
    text = str(name_or_path)
    given = Path(text)
    if given.exists():
        return given
    folder = config_dir or CONFIG_DIR
    number = re.fullmatch(r"(\d+)(\.json)?", text)
    if number:
        exact = folder / f"{number.group(1)}.json"
        padded = folder / f"{int(number.group(1)):04d}.json"  # '1' finds 0001.json
        return exact if exact.exists() or not padded.exists() else padded
    if given.parent == Path(".") and given.suffix == ".json":
        return folder / given.name
    return given


# --- what the parser keeps for the validator ---------------------------------------------------

class UnrepresentableNumber(float):
    """A JSON number no config can hold, with the text it was written as.

    ``NaN``, ``Infinity`` and ``-Infinity`` (Python's ``json`` accepts them; JSON does not), and
    numbers beyond a float (``1e400``) or with more than ``MAX_INT_DIGITS`` digits. Its value is
    NaN or infinite, so every finite-number check refuses it.
    """

    text: str

    def __new__(cls, text: str, value: float) -> "UnrepresentableNumber":
        number = super().__new__(cls, value)
        number.text = text
        return number


class DuplicateKeyObject(dict):
    """A JSON object that gave a key more than once; ``repeated`` counts each such key.

    The dict holds the last value, as ``json`` would; the validator reports every repeat.
    """

    repeated: dict[str, int]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    counted = DuplicateKeyObject(obj)
    counted.repeated = {}
    for key, _ in pairs:
        counted.repeated[key] = counted.repeated.get(key, 0) + 1
    counted.repeated = {k: n for k, n in counted.repeated.items() if n > 1}
    return counted


def _constant(name: str) -> UnrepresentableNumber:
    return UnrepresentableNumber(name, float(name))


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else UnrepresentableNumber(text, value)


def _int(text: str) -> int | float:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return UnrepresentableNumber(text, -math.inf if text.startswith("-") else math.inf)
    return int(text)


def parse_config_text(text: str, source: str) -> Any:
    """Parse config text; raise UnreadableConfig (naming ``source``, line and column) if not JSON."""
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant,
                          parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise UnreadableConfig(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise UnreadableConfig(f"{source}: the JSON is nested too deeply to read (a config nests "
                               f"at most {MAX_DEPTH} levels); is this a config file?") from None


# --- reading ------------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    try:
        # without O_NONBLOCK, opening a FIFO waits for a writer: forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UnreadableConfig(f"{path}: no such config file (looked for {path.absolute()})") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UnreadableConfig(f"{path}: cannot open the config file: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        kind = non_regular_kind(info.st_mode)
        if kind:
            raise UnreadableConfig(f"{path}: is {kind}, not a config file; give the path of a "
                                   f"JSON file such as config/trading/0001.json")
        if info.st_size > MAX_CONFIG_BYTES:
            raise UnreadableConfig(_too_big(path, info.st_size))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)  # it may grow while we read
    except OSError as exc:
        raise UnreadableConfig(f"{path}: cannot read the config file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise UnreadableConfig(_too_big(path, len(data)))
    return data


def _too_big(path: Path, size: int) -> str:
    return (f"{path}: the file is {size:,} bytes; a config is a few kilobytes (at most "
            f"{MAX_CONFIG_BYTES:,} bytes): is this the right file?")


def _decode(path: Path, data: bytes) -> str:
    for bom, name in _UTF16_32_BOMS.items():
        if data.startswith(bom):
            raise UnreadableConfig(f"{path}: the file is {name} text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")  # an editor's byte-order mark is harmless
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise UnreadableConfig(f"{path}: line {line}, column {column}: byte 0x{data[start]:02x} "
                               "is not UTF-8 text; save the file as UTF-8") from None


def read_config_file(path: Path) -> Any:
    """Read and parse a config file; what cannot be read as JSON is an UnreadableConfig.

    The result may hold ``DuplicateKeyObject`` and ``UnrepresentableNumber`` values: pass it to
    the validator, which reports them with their JSON paths.
    """
    return parse_config_text(_decode(path, _read_bytes(path)), str(path))


# --- what JSON allows and a config cannot hold --------------------------------------------------

def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000); remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return (f"contains a lone surrogate \\u{code:04x} (half of a UTF-16 pair, not a "
                "character); remove it or write the whole character")
    return None


def _number_problem(value: float) -> str | None:
    if math.isfinite(value):
        return None
    text = getattr(value, "text", None) or json.dumps(value)
    if text in ("NaN", "Infinity", "-Infinity"):
        return f"must be a finite number, got {text} (not a JSON number)"
    return f"must be a finite number, got {text[:40]}{'...' if len(text) > 40 else ''} (too large)"


def section(doc: Any, *keys: str) -> dict[str, Any]:
    """A nested object of a parsed config, or {} when it is absent or not an object (the
    schema's pass reports that): what the validator's checks read a document through."""
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def document_problems(doc: Any) -> Iterator[Problem]:
    """What JSON let through that no config may hold, each with its JSON path.

    Keys given twice, non-finite numbers, strings (values or keys) with a NUL or a lone
    surrogate, and nesting deeper than ``MAX_DEPTH``. Walks without recursion, so any depth
    the parser accepted is safe here.
    """
    stack: list[tuple[JsonPath, Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            yield path, (f"nested more than {MAX_DEPTH} levels deep; no key of a config nests "
                         "that far")
            continue
        if isinstance(node, dict):
            for key, count in getattr(node, "repeated", {}).items():
                yield path + (key,), (f"the key '{key}' is given {count} times in this object "
                                      "(JSON keeps only the last, silently); keep one")
            for key, value in node.items():
                problem = _string_problem(key)
                if problem:
                    yield path + (key,), f"the key {problem}"
                stack.append((path + (key,), value))
        elif isinstance(node, list):
            stack.extend((path + (i,), value) for i, value in enumerate(node))
        elif isinstance(node, str):
            problem = _string_problem(node)
            if problem:
                yield path, problem
        elif isinstance(node, float):
            problem = _number_problem(node)
            if problem:
                yield path, problem

"""``--set PATH=VALUE``: change one config key for one run, before the config is validated.

An override edits the raw document the file holds, so the result is checked exactly like the file
(every problem with its JSON path). ``PATH`` is the key's JSON path as the validator prints it:
``risk_management.stop_loss_pct``, ``strategy.entry_logic.params.e_rsi_oversold``,
``strategy.exit_logic[1].params.x_max_bars`` (``exit_logic.1`` works too). ``VALUE`` is read as
JSON when it is JSON (``25``, ``2.5``, ``true``, ``"1h"``, a list such as
``trading.symbols=["ETCBTC", "XLMBTC"]``) and as text otherwise (``1h``); ``null`` removes the
key, so its default applies (``trading.symbol=null`` before a basket). Missing objects on the
way are created.

Index ``len`` adds an item at the end of a list, given whole
(``strategy.exit_logic[1]={"name": "TimeBasedExitMixin", "params": {"x_max_bars": 30}}``); a
path below an item that does not exist yet is refused, saying so. One object where a list may
stand (``exit_logic``: one exit or a list) is a list of one: ``[0]`` is that object, and ``[1]``
adds a second item, turning it into a list.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from trading.core.errors import ConfigError

PathPart = str | int
_SEGMENT = re.compile(r"([^\[\]]*)((?:\[\d+\])*)")


@dataclass(frozen=True)
class Override:
    """One ``--set``: the key's path, the new value (None removes the key) and what was typed.

    ``flag`` names the option it came from in messages (``--grid`` for a sweep's points).
    """

    path: tuple[PathPart, ...]
    value: Any
    text: str
    flag: str = "--set"

    @property
    def path_text(self) -> str:
        """The path as the validator prints it (``strategy.exit_logic[1].params.x_max_bars``)."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def parse_path(text: str, typed: str | None = None) -> tuple[PathPart, ...]:
    """``a.b[1].c`` or ``a.b.1.c`` -> ``("a", "b", 1, "c")``; raises ConfigError when malformed
    (naming ``typed``, the whole ``--set`` argument, when given)."""
    parts: list[PathPart] = []
    for segment in text.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None or not segment:
            raise ConfigError(f"--set {typed or text}: not a config key path (write it as the validator "
                              f"prints it, e.g. risk_management.stop_loss_pct or "
                              f"strategy.exit_logic[1].params.x_max_bars)")
        name, indexes = match.groups()
        if name:
            parts.append(int(name) if name.isdigit() else name)
        parts += [int(i) for i in re.findall(r"\d+", indexes)]
    return tuple(parts)


def parse_value(text: str) -> Any:
    """JSON when the text is JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_override(text: str) -> Override:
    """``PATH=VALUE`` -> Override; raises ConfigError naming what is wrong."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ConfigError(f"--set {text}: expected PATH=VALUE, e.g. --set risk_management.stop_loss_pct=3")
    return Override(parse_path(path.strip(), text), parse_value(value.strip()), text)


def apply_overrides(doc: Any, overrides: tuple[Override, ...] | list[Override]) -> Any:
    """A deep copy of ``doc`` with every override applied in order (the document is not checked)."""
    result = copy.deepcopy(doc)
    for override in overrides:
        _apply(result, override)
    return result


def _apply(doc: Any, override: Override) -> None:
    node = doc
    *route, last = override.path
    walked: list[PathPart] = []
    for part, following in zip(route, override.path[1:]):
        walked.append(part)
        if isinstance(following, int) and isinstance(_child(node, part, override, walked), dict):
            _as_list(node, part, following, override, walked)  # one object: a list of one
        child = _child(node, part, override, walked)
        if child is None:
            if isinstance(node, list) and part == len(node):  # a new item needs all of it
                raise _partial_item(node, part, override, walked)
            child = [] if isinstance(following, int) else {}
            _put(node, part, child, override, walked)
        node = child
    if override.value is None:
        if isinstance(node, dict):
            node.pop(last, None)
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            del node[last]
        return
    _put(node, last, copy.deepcopy(override.value), override, walked + [last])


def _as_list(parent: Any, key: PathPart, index: int, override: Override,
             walked: list[PathPart]) -> None:
    """``parent[key]`` is one object and an index follows: [0] is the object itself, [1] adds a
    second item; the object becomes a list of one either way (``exit_logic`` may be either)."""
    if index > 1:
        raise ConfigError(f"--set {override.text}: {_show_path(walked)} is one object, a list of "
                          f"one item; index {index} would leave a hole (use 1 to add one)")
    _put(parent, key, [_child(parent, key, override, walked)], override, walked)


def _partial_item(node: list, index: int, override: Override,
                  walked: list[PathPart]) -> ConfigError:
    where = _show_path(walked[:-1])
    item = ('{"name": "TimeBasedExitMixin", "params": {"x_max_bars": 30}}'
            if where.endswith("exit_logic") else "VALUE")
    return ConfigError(f"--set {override.text}: {where} has {len(node)} item(s), so {where}"
                       f"[{index}] does not exist yet: add the whole item in one --set, e.g. "
                       f"--set '{where}[{index}]={item}'")


def _child(node: Any, part: PathPart, override: Override, walked: list[PathPart]) -> Any:
    if isinstance(node, dict):
        if isinstance(part, int):
            part = str(part)
        return node.get(part)
    if isinstance(node, list):
        if not isinstance(part, int):
            raise _not_a(node, part, override, walked)
        return node[part] if part < len(node) else None
    raise _not_a(node, part, override, walked)


def _put(node: Any, part: PathPart, value: Any, override: Override, walked: list[PathPart]) -> None:
    if isinstance(node, dict):
        node[str(part)] = value
    elif isinstance(node, list) and isinstance(part, int):
        if part > len(node):
            raise ConfigError(f"--set {override.text}: {_show_path(walked[:-1])} has {len(node)} "
                              f"item(s); index {part} would leave a hole (use {len(node)} to add one)")
        if part == len(node):
            node.append(value)
        else:
            node[part] = value
    else:
        raise _not_a(node, part, override, walked)


def _not_a(node: Any, part: PathPart, override: Override, walked: list[PathPart]) -> ConfigError:
    where = _show_path(walked[:-1]) or "the config"
    if isinstance(node, list):
        example = _show_path(walked[:-1] + [0, part])
        return ConfigError(f"--set {override.text}: {where} is a list; name an item by its index, "
                           f"e.g. {example}")
    kind = {str: "text", bool: "true/false", int: "a number", float: "a number"}.get(type(node), "a value")
    return ConfigError(f"--set {override.text}: {where} is {kind}, not an object, so it has no "
                       f"'{part}'")


def _show_path(parts: list[PathPart]) -> str:
    return Override(tuple(parts), None, "").path_text


def mark_overridden(lines: list[str], source: str, overrides: tuple[Override, ...] | list[Override]) -> list[str]:
    """Validator lines about an overridden key, with the ``--set`` that caused them appended."""
    marked = []
    for line in lines:
        for override in reversed(overrides):
            head = f"{source}: {override.path_text}"
            if line.startswith(head + ":") or line.startswith(head + ".") or line.startswith(head + "["):
                line = f"{line} (from {override.flag} {override.text})"
                break
        marked.append(line)
    return marked

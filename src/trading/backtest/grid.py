"""A sweep's grid: ``--grid NAME=VALUES`` axes, their config paths, and every combination.

``VALUES`` is a range ``START:STOP:STEP`` (STOP included: ``20:40:5`` is 20 25 30 35 40; whole
numbers stay integers, decimals are exact to the step's digits), a list ``60,70,80`` (each item
read as JSON, else as text: ``sma,ema``), or one value. ``NAME`` is a mixin param of the config
(``e_rsi_oversold`` finds the entry mixin that declares it, ``x_...`` the exit mixin) or any
config path ``--set`` takes (``risk_management.stop_loss_pct``).
"""
from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from strategies.mixins.registry import default_registry
from trading.config.overrides import Override, PathPart, parse_path, parse_value
from trading.core.errors import ConfigError

MAX_POINTS = 100_000


@dataclass(frozen=True)
class GridAxis:
    """One ``--grid``: what the user typed, the config path it sets, and its values in order."""

    name: str
    path: tuple[PathPart, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class GridPoint:
    """One combination: ``params`` maps each axis name to its value; ``key`` identifies it."""

    params: Mapping[str, Any]
    overrides: tuple[Override, ...]

    @property
    def key(self) -> str:
        """A stable id from the values alone, so a resumed sweep recognises a point it has done."""
        text = json.dumps(dict(self.params), sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text.strip()!r} is not a finite number")
    return value


def parse_values(text: str) -> tuple[Any, ...]:
    """``20:40:5`` -> (20, 25, 30, 35, 40); ``60,70,80`` -> (60, 70, 80); raises ValueError."""
    if text.count(":") == 2 and not text.strip().startswith(("[", "{", '"')):
        start, stop, step = (_number(part) for part in text.split(":"))
        if step <= 0:
            raise ValueError(f"the step of {text} must be above 0")
        if stop < start:
            raise ValueError(f"the range {text} is empty (its stop is below its start)")
        count = int((stop - start) / step) + 1
        if count > MAX_POINTS:
            raise ValueError(f"the range {text} has {count:,} values")
        whole = all(v == v.to_integral_value() and "." not in str(v) for v in (start, step))
        values = [start + step * i for i in range(count)]
        return tuple(int(v) if whole else float(v) for v in values)
    items = [item for item in text.split(",")]
    if not text.strip() or any(not item.strip() for item in items):
        raise ValueError(f"'{text}' has an empty value (write a range START:STOP:STEP or a list "
                         f"a,b,c)")
    values = tuple(parse_value(item.strip()) for item in items)
    if len(set(map(json.dumps, values))) != len(values):
        raise ValueError(f"'{text}' lists a value twice")
    return values


def _mixin_specs(document: Mapping[str, Any]) -> list[tuple[str, tuple[PathPart, ...], str]]:
    """(kind, path of the spec, mixin name) for the entry mixin and every exit mixin."""
    strategy = document["strategy"]
    specs = [("entry", ("strategy", "entry_logic"), strategy["entry_logic"]["name"])]
    exits = strategy["exit_logic"]
    if isinstance(exits, list):
        specs += [("exit", ("strategy", "exit_logic", i), x["name"]) for i, x in enumerate(exits)]
    else:
        specs.append(("exit", ("strategy", "exit_logic"), exits["name"]))
    return specs


def resolve_name(name: str, document: Mapping[str, Any]) -> tuple[PathPart, ...]:
    """The config path a grid name sets; raises ConfigError naming what the config offers."""
    if "." in name or "[" in name:
        return parse_path(name, f"{name}=...")
    registry = default_registry()
    found, known = [], []
    for kind, path, mixin in _mixin_specs(document):
        cls = registry.find(kind, mixin)  # type: ignore[arg-type]
        declared = [p.name for p in cls.params] if cls else []
        known += declared
        if name in declared:
            found.append((path, mixin))
    if len(found) == 1:
        return found[0][0] + ("params", name)
    if found:
        paths = " or ".join(_text(p + ("params", name)) for p, _ in found)
        raise ConfigError(f"--grid {name}: more than one mixin of the config has '{name}'; "
                          f"name one by its path: {paths}")
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    mixins = ", ".join(m for _, _, m in _mixin_specs(document))
    raise ConfigError(f"--grid {name}: no mixin of the config ({mixins}) has a param '{name}'"
                      + (f"; did you mean '{hint[0]}'?" if hint else
                         f" (its params: {', '.join(known)}); a config path such as "
                         f"risk_management.stop_loss_pct also works"))


def _text(path: tuple[PathPart, ...]) -> str:
    return Override(path, None, "").path_text


def parse_grid(specs: list[str], document: Mapping[str, Any]) -> list[GridAxis]:
    """Every ``--grid NAME=VALUES`` as an axis; raises ConfigError listing every problem."""
    axes, problems, seen = [], [], set()
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"--grid {spec}: expected NAME=VALUES, e.g. --grid e_rsi_oversold=20:40:5 "
                            f"or --grid x_rsi_overbought=60,70,80")
            continue
        if name in seen:
            problems.append(f"--grid {spec}: '{name}' is given twice; put all its values in one --grid")
            continue
        seen.add(name)
        try:
            path = resolve_name(name, document)
            axes.append(GridAxis(name, path, parse_values(values)))
        except ConfigError as exc:
            problems += exc.problems
        except ValueError as exc:
            problems.append(f"--grid {spec}: {exc}")
    if not specs:
        problems.append("no --grid given: name at least one param and its values, e.g. "
                        "--grid e_rsi_oversold=20:40:5")
    if not problems:
        total = 1
        for axis in axes:
            total *= len(axis.values)
        if total > MAX_POINTS:
            problems.append(f"the grid has {total:,} points, more than {MAX_POINTS:,}: use fewer "
                            f"values or larger steps")
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the grid", problems)
    return axes


def grid_points(axes: list[GridAxis]) -> list[GridPoint]:
    """Every combination of the axes' values, the first axis varying slowest."""
    points = []
    for combo in itertools.product(*(axis.values for axis in axes)):
        params = {axis.name: value for axis, value in zip(axes, combo)}
        overrides = tuple(Override(axis.path, value, f"{axis.name}={json.dumps(value)}", "--grid")
                          for axis, value in zip(axes, combo))
        points.append(GridPoint(params, overrides))
    return points

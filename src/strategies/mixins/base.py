"""The mixin contract: what an entry or exit rule is, what it is given, and what it returns.

What a plugin author imports: it depends on nothing of the project but the kernel's domain types
(``Bar``, ``OpenTrade``, re-exported here). Mixins never touch Backtrader, a broker or the
network; they see closed bars and streaming indicators, so the same mixin runs identically in
replay and live, and can be tested on a handful of crafted bars.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from trading.core.text import excerpt
from trading.core.types import Bar, OpenTrade

__all__ = ["Bar", "EntryMixin", "ExitMixin", "Mixin", "OpenTrade", "Param", "Params"]

# The indicator set (strategies.indicators.IndicatorSet) is handed in; mixins only call its
# factory methods, so this contract does not import it.
IndicatorSet = Any


_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}
MAX_SHOWN = 40  # characters of a wrong value quoted in a message


def _shown(value: Any) -> str:
    """A wrong value as a message quotes it: short whatever its size."""
    if isinstance(value, str):
        return excerpt(value, MAX_SHOWN)
    text = repr(value) if isinstance(value, (bool, int, float)) else type(value).__name__
    if isinstance(value, (dict, list)):
        text = "an object" if isinstance(value, dict) else "an array"
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


@dataclass(frozen=True)
class Param:
    """A declared mixin parameter: the single source for validation, JSON Schema and docs.

    ``maximum`` is inclusive; ``exclusive_maximum`` is a bound the value must stay below (a stop
    distance of 100% would sit at price 0, so percent distances stop short of 100).
    """

    name: str
    type: type
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    exclusive_maximum: float | None = None

    def check(self, value: Any) -> str | None:
        """Return a message saying what is wrong with ``value``, or None when it is acceptable."""
        if self.type is bool:
            ok = isinstance(value, bool)
        elif self.type is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, self.type)
        if not ok:
            return f"must be {_TYPE_NAMES.get(self.type, self.type.__name__)}, got {_shown(value)}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {_shown(value)}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum:g}, got {_shown(value)}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:g}, got {_shown(value)}"
        if self.exclusive_maximum is not None and value >= self.exclusive_maximum:
            return f"must be < {self.exclusive_maximum:g}, got {_shown(value)}"
        return None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": _TYPE_NAMES[self.type], "default": self.default,
                                  "description": self.doc}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.exclusive_maximum is not None:
            schema["exclusiveMaximum"] = self.exclusive_maximum
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        return schema


class Params:
    """Read-only attribute access to a mixin's resolved parameters: ``self.p.e_rsi_period``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("mixin parameters are read-only")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


class Mixin:
    """Common part of entry and exit mixins: a JSON name, a one-line rule and declared params."""

    name: ClassVar[str]
    rule: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    prefix: ClassVar[str] = ""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        problems = self.check_params(params or {})
        if problems:
            raise ValueError("; ".join(f"{self.name}.{key}: {msg}" for key, msg in problems))
        values = {p.name: p.default for p in self.params}
        values.update(params or {})
        # an int given for a float param stays exact but behaves as a float
        for p in self.params:
            if p.type is float:
                values[p.name] = float(values[p.name])
        self.p = Params(values)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Every problem with ``params`` as (key, message), with a close-match hint for typos."""
        declared = {p.name: p for p in cls.params}
        problems: list[tuple[str, str]] = []
        for key, value in params.items():
            param = declared.get(key)
            if param is None:
                hint = difflib.get_close_matches(key, declared, n=1, cutoff=0.6)
                known = ", ".join(declared) or "none"
                msg = f"unknown parameter for {cls.name}"
                msg += f"; did you mean '{hint[0]}'?" if hint else f" (known: {known})"
                problems.append((key, msg))
                continue
            error = param.check(value)
            if error:
                problems.append((key, error))
        return problems

    @classmethod
    def describe(cls) -> str:
        return cls.rule


class EntryMixin(Mixin):
    """Decides when to open a long position. Exactly one per strategy. Params carry prefix ``e_``."""

    prefix = "e_"

    def init(self, indicators: IndicatorSet) -> None:
        """Request the streaming indicators this rule needs (shared with other mixins)."""

    def should_enter(self, bar: Bar) -> bool:
        raise NotImplementedError


class ExitMixin(Mixin):
    """Decides when to close the open position. One or more per strategy; the first that fires wins.

    Params carry prefix ``x_``. Per-trade values go in ``trade.state[self.name]`` (set in
    ``on_entry``) so they are persisted and restored with the position.
    """

    prefix = "x_"

    def init(self, indicators: IndicatorSet) -> None:
        """Request the streaming indicators this rule needs (shared with other mixins)."""

    def on_entry(self, trade: OpenTrade) -> None:
        """Reset per-trade state for a new position."""

    def on_restore(self, trade: OpenTrade) -> None:
        """Give a restored position this exit's per-trade state when it has none: the exit was
        added to the config after the position opened.

        What the trade knows (entry price and time, bars held, the extremes since entry) and
        the indicators now (warmed up on the history before the first live bar) stand in for
        the moment of entry. The default is ``on_entry``.
        """
        self.on_entry(trade)

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        """Return a short exit reason (the rule that fired), or None to stay in."""
        raise NotImplementedError

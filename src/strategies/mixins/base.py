"""The mixin contract: what an entry or exit rule is, what it is given, and what it returns.

Part of the kernel: imports nothing of the project. Mixins never touch Backtrader, a broker or the
network; they see closed bars and streaming indicators, so the same mixin runs identically in
replay and live, and can be tested on a handful of crafted bars.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, NamedTuple

if TYPE_CHECKING:  # the indicator set is handed in; mixins only call its factory methods
    from strategies.indicators import IndicatorSet


class Bar(NamedTuple):
    """One closed bar. ``ts`` is the bar's open time in epoch seconds (UTC)."""

    ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts, tz=timezone.utc)


_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


@dataclass(frozen=True)
class Param:
    """A declared mixin parameter: the single source for validation, JSON Schema and docs."""

    name: str
    type: type
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

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
            return f"must be {_TYPE_NAMES.get(self.type, self.type.__name__)}, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum:g}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:g}, got {value!r}"
        return None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": _TYPE_NAMES[self.type], "default": self.default,
                                  "description": self.doc}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
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

    def init(self, indicators: "IndicatorSet") -> None:
        """Request the streaming indicators this rule needs (shared with other mixins)."""

    def should_enter(self, bar: Bar) -> bool:
        raise NotImplementedError


@dataclass
class OpenTrade:
    """The open long position with the per-trade state exits need; persisted by the store.

    ``state`` holds each exit mixin's own per-trade values under its name (JSON-serialisable),
    so a restart restores exits exactly where they were.
    """

    symbol: str
    size: float
    entry_price: float
    entry_ts: float
    entry_fee: float = 0.0
    entry_reason: str = ""
    bars_held: int = 0
    highest_high: float = 0.0
    highest_close: float = 0.0
    lowest_low: float = 0.0
    trailing_armed: bool = False
    state: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.highest_high:
            self.highest_high = self.entry_price
        if not self.highest_close:
            self.highest_close = self.entry_price
        if not self.lowest_low:
            self.lowest_low = self.entry_price

    @property
    def entry_time(self) -> datetime:
        return datetime.fromtimestamp(self.entry_ts, tz=timezone.utc)

    def observe(self, bar: Bar) -> None:
        """Count one more bar held and track the extremes since entry."""
        self.bars_held += 1
        if bar.high > self.highest_high:
            self.highest_high = bar.high
        if bar.close > self.highest_close:
            self.highest_close = bar.close
        if bar.low < self.lowest_low:
            self.lowest_low = bar.low

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "size": self.size, "entry_price": self.entry_price,
            "entry_ts": self.entry_ts, "entry_fee": self.entry_fee, "entry_reason": self.entry_reason,
            "bars_held": self.bars_held, "highest_high": self.highest_high,
            "highest_close": self.highest_close, "lowest_low": self.lowest_low,
            "trailing_armed": self.trailing_armed, "state": self.state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OpenTrade":
        return cls(**dict(data))


class ExitMixin(Mixin):
    """Decides when to close the open position. One or more per strategy; the first that fires wins.

    Params carry prefix ``x_``. Per-trade values go in ``trade.state[self.name]`` (set in
    ``on_entry``) so they are persisted and restored with the position.
    """

    prefix = "x_"

    def init(self, indicators: "IndicatorSet") -> None:
        """Request the streaming indicators this rule needs (shared with other mixins)."""

    def on_entry(self, trade: OpenTrade) -> None:
        """Reset per-trade state for a new position."""

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        """Return a short exit reason (the rule that fired), or None to stay in."""
        raise NotImplementedError

"""What makes a bar valid: one set of rules, for a whole file at once and for one live bar.

A bar is valid when each price (open, high, low, close) is a number above 0 and at most
``MAX_PRICE``, the volume a number from 0 to ``MAX_VOLUME``, and open and close lie within
[low, high] (so high >= low). NaN fails every rule (each is written as what must hold), and so do
infinities. The bounds are far beyond any market's, yet keep sums and squares in indicators
finite: one bar at 1e308 would otherwise poison a running sum for good.

``first_invalid`` checks numpy columns (a file: ``load_bars``), ``bar_problem`` one ``Bar`` (a
live bar: ``LiveFeed``); both report the same words.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from trading.core.types import Bar

MAX_PRICE = 1e12
MAX_VOLUME = 1e18
MAX_TS = 253_402_300_800.0  # 10000-01-01 UTC: no date/time goes further
COLUMNS = ("open", "high", "low", "close", "volume")
_O, _H, _L, _C, _V = range(5)

Values = Sequence[Any]  # open, high, low, close, volume: floats, or numpy columns


def _number(x: float) -> str:
    return repr(float(x))  # exact, and plain for numpy floats too


def _price(i: int) -> tuple[Callable[[Values], Any], Callable[[Values], str]]:
    name = COLUMNS[i]

    def message(v: Values) -> str:
        x = float(v[i])
        if not math.isfinite(x):
            return f"{name} is {_number(x)}: not a price"
        if x <= 0:
            return f"{name} {_number(x)} is not a price: prices must be above 0"
        return (f"{name} {_number(x)} is beyond any real price (above {MAX_PRICE:g}); "
                "is the column scaled or corrupt?")

    return (lambda v: (v[i] > 0) & (v[i] <= MAX_PRICE)), message


def _volume_message(v: Values) -> str:
    x = float(v[_V])
    if not math.isfinite(x):
        return f"volume is {_number(x)}: not a volume"
    if x < 0:
        return f"volume {_number(x)} is negative"
    return f"volume {_number(x)} is beyond any real volume (above {MAX_VOLUME:g})"


def _outside(i: int) -> Callable[[Values], str]:
    name = COLUMNS[i]
    return lambda v: (f"{name} {_number(v[i])} lies outside the bar's range: low "
                      f"{_number(v[_L])} to high {_number(v[_H])}")


# (what must hold, what to say when it does not), checked in this order
RULES: tuple[tuple[Callable[[Values], Any], Callable[[Values], str]], ...] = (
    _price(_O), _price(_H), _price(_L), _price(_C),
    (lambda v: (v[_V] >= 0) & (v[_V] <= MAX_VOLUME), _volume_message),
    (lambda v: v[_H] >= v[_L],
     lambda v: f"high {_number(v[_H])} is below low {_number(v[_L])}"),
    (lambda v: (v[_L] <= v[_O]) & (v[_O] <= v[_H]), _outside(_O)),
    (lambda v: (v[_L] <= v[_C]) & (v[_C] <= v[_H]), _outside(_C)),
)


def bar_problem(bar: Bar) -> str | None:
    """What is wrong with one bar (the first broken rule), or None when it is valid."""
    if not 0 <= bar.ts < MAX_TS:  # NaN fails too
        return f"time {bar.ts!r} is not a bar time"
    values = bar[1:]
    for holds, message in RULES:
        if not holds(values):
            return message(values)
    return None


def first_invalid(columns: Sequence[np.ndarray]) -> tuple[int, str] | None:
    """The first invalid row of open, high, low, close, volume columns and what is wrong with
    it (the first rule it breaks), or None when every row is valid."""
    first: int | None = None
    for holds, _ in RULES:
        bad = ~np.asarray(holds(columns), dtype=bool)
        if bad.any():
            row = int(np.argmax(bad))
            first = row if first is None else min(first, row)
    if first is None:
        return None
    values = [column[first] for column in columns]
    return first, next(message(values) for holds, message in RULES if not holds(values))

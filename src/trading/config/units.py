"""Keys in percent, and the warning for a percent written as a fraction.

Some keys are fractions (``position_size``, ``max_exposure``, ``commission``: 0.1 is 10%) and the
``*_pct`` keys are percents (``stop_loss_pct: 3`` is 3%). ``stop_loss_pct: 0.03`` is valid, a 0.03%
stop, but almost always a 3% stop written as a fraction: a percent key between 0 and
``SMALL_PERCENT`` is a warning naming the unit. ``broker.slippage_pct`` is left out: a slippage
of a few hundredths of a percent is what a liquid market has.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from trading.config.files import JsonPath, Problem

SMALL_PERCENT = 0.1  # below this (and above 0) a percent key is probably a fraction
PERCENT_KEYS: tuple[JsonPath, ...] = (
    ("trading", "max_drawdown_pct"),
    ("risk_management", "stop_loss_pct"),
    ("risk_management", "take_profit_pct"),
    ("risk_management", "trailing_stop", "activation_pct"),
    ("risk_management", "trailing_stop", "trailing_pct"),
)


def _value(doc: Any, path: JsonPath) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _small(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 < value < SMALL_PERCENT)


def _warning(value: float) -> str:
    return (f"this key is in percent: {value:g} means {value:g}%; did you mean "
            f"{value * 100:g}? (fractions are only position_size, max_exposure and commission)")


def _mixin_params(doc: Mapping[str, Any]) -> Iterator[tuple[JsonPath, Any]]:
    """Every mixin param that is a percent (its name ends in ``_pct``), with its path."""
    strategy = doc.get("strategy")
    if not isinstance(strategy, Mapping):
        return
    specs: list[tuple[JsonPath, Any]] = [(("strategy", "entry_logic"), strategy.get("entry_logic"))]
    exits = strategy.get("exit_logic")
    if isinstance(exits, list):
        specs += [(("strategy", "exit_logic", i), spec) for i, spec in enumerate(exits)]
    else:
        specs.append((("strategy", "exit_logic"), exits))
    for path, spec in specs:
        params = spec.get("params") if isinstance(spec, Mapping) else None
        if isinstance(params, Mapping):
            for key, value in params.items():
                if isinstance(key, str) and key.endswith("_pct"):
                    yield path + ("params", key), value


def percent_warnings(doc: Mapping[str, Any]) -> Iterator[Problem]:
    """A warning for each percent key set between 0 and ``SMALL_PERCENT``."""
    found = [(path, _value(doc, path)) for path in PERCENT_KEYS] + list(_mixin_params(doc))
    for path, value in found:
        if _small(value):
            yield path, _warning(value)

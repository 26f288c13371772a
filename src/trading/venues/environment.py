"""Venue settings read from the environment (a timeout, a wait): one reading and one message for
every venue."""
from __future__ import annotations

from typing import Mapping

from trading.core.errors import ConfigError


def env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """The positive number of seconds in ``env[name]``, ``default`` when it is unset or empty;
    anything else is a ConfigError naming the variable."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:  # also NaN
        raise ConfigError(f"environment variable {name} must be a positive number of seconds, "
                          f"got {text!r}")
    return value

"""Build the Yahoo connection from the environment.

``YAHOO_BASE_URL`` sends every Yahoo request (quote, chart, cookie and crumb hosts) to one other
base URL (tests, proxies); ``YAHOO_REQUEST_TIMEOUT`` (seconds, default 10) bounds a request;
``YAHOO_MAX_WAIT_SECONDS`` (default 600) is the longest a feed sleeps between two polls.
"""
from __future__ import annotations

from typing import Mapping, Sequence
from urllib.parse import urlsplit

from trading.core.errors import ConfigError
from trading.venues.environment import env_seconds
from trading.venues.yahoo.connection import YahooVenue

BASE_URL_ENV = "YAHOO_BASE_URL"
TIMEOUT_ENV = "YAHOO_REQUEST_TIMEOUT"
MAX_WAIT_ENV = "YAHOO_MAX_WAIT_SECONDS"


def build_yahoo_venue(env: Mapping[str, str], *, symbol: str | Sequence[str] | None = None,
                      interval: str | None = None) -> YahooVenue:
    """The Yahoo connection the environment describes; ConfigError for a bad setting. With
    ``symbol`` (or a basket's symbols) and ``interval`` it checks Yahoo knows each symbol when
    it starts."""
    base = (env.get(BASE_URL_ENV) or "").strip() or None
    if base is not None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"environment variable {BASE_URL_ENV} must be an http(s) URL such "
                              f"as http://127.0.0.1:8080, got {base!r}")
    return YahooVenue(base, request_timeout=env_seconds(env, TIMEOUT_ENV, 10.0),
                      max_wait=env_seconds(env, MAX_WAIT_ENV, 600.0),
                      check=(symbol, interval) if symbol and interval else None)

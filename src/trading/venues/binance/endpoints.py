"""Where the Binance venue is reached, and with which keys.

Endpoints come, in order of precedence, from the environment (``BINANCE_REST_URL``,
``BINANCE_STREAM_URL``, ``BINANCE_WS_API_URL``), the config (``broker.endpoints`` /
``data.endpoints``) and Binance's own defaults (the Spot Testnet's for ``binance_paper``). Keys only
ever come from the environment (or a ``.env`` file loaded into it) and never leave this module's
objects in a log line: ``Credentials`` hides the secret in its ``repr``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from trading.core.errors import ConfigError
from trading.core.settings import VenueEndpoints
from trading.venues.environment import env_seconds

LIVE = VenueEndpoints(rest="https://api.binance.com/api",
                      stream="wss://stream.binance.com:9443/",
                      ws_api="wss://ws-api.binance.com:443/ws-api/v3")
TESTNET = VenueEndpoints(rest="https://testnet.binance.vision/api",
                         stream="wss://stream.testnet.binance.vision/",
                         ws_api="wss://ws-api.testnet.binance.vision/ws-api/v3")
ENV_URLS = {"rest": "BINANCE_REST_URL", "stream": "BINANCE_STREAM_URL", "ws_api": "BINANCE_WS_API_URL"}
KEY_NAMES = {False: ("BINANCE_API_KEY", "BINANCE_API_SECRET"),
             True: ("BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET")}
TIMEOUT_ENV = "BINANCE_REQUEST_TIMEOUT"  # seconds a REST request may take (default 10)
RETRY_CAP_ENV = "BINANCE_RETRY_CAP"  # the longest wait between two tries, seconds (default 10)


@dataclass(frozen=True)
class ResolvedEndpoints:
    """The three URLs in the shape python-binance wants them (REST ends in ``/api``, the stream
    base in ``/``)."""

    rest: str
    stream: str
    ws_api: str

    def describe(self) -> str:
        return f"REST {self.rest}, streams {self.stream}, WebSocket API {self.ws_api}"


@dataclass(frozen=True)
class Credentials:
    """An API key pair; ``repr`` never shows the secret (nor the whole key)."""

    api_key: str
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(api_key='{self.api_key[:4]}…')"


def resolve_endpoints(*configured: VenueEndpoints, testnet: bool,
                      env: Mapping[str, str] | None = None) -> ResolvedEndpoints:
    """The URLs to use: environment, then the first configured value, then Binance's default."""
    env = os.environ if env is None else env
    default = TESTNET if testnet else LIVE
    chosen = {}
    for name, variable in ENV_URLS.items():
        value = env.get(variable) or next((getattr(c, name) for c in configured
                                          if getattr(c, name)), None) or getattr(default, name)
        chosen[name] = value
    rest = chosen["rest"].rstrip("/")
    if not rest.endswith("/api"):
        rest += "/api"  # python-binance appends /v3/<path>
    stream = chosen["stream"] if chosen["stream"].endswith("/") else chosen["stream"] + "/"
    return ResolvedEndpoints(rest=rest, stream=stream, ws_api=chosen["ws_api"].rstrip("/"))


def load_credentials(testnet: bool, env: Mapping[str, str] | None = None) -> Credentials:
    """The key pair for the live account or the testnet; a missing one is a ConfigError naming
    the variable (never its value)."""
    env = os.environ if env is None else env
    key_name, secret_name = KEY_NAMES[testnet]
    missing = [name for name in (key_name, secret_name) if not env.get(name)]
    if missing:
        where = "the Binance Spot Testnet" if testnet else "Binance Spot"
        raise ConfigError(f"environment variable {' and '.join(missing)} is not set; broker "
                          f"'{'binance_paper' if testnet else 'binance'}' needs an API key for "
                          f"{where}: set {key_name} and {secret_name} in the environment or in .env")
    return Credentials(api_key=env[key_name], api_secret=env[secret_name])


def request_timeout(env: Mapping[str, str]) -> float:
    """Seconds a REST request may take: ``BINANCE_REQUEST_TIMEOUT``, default 10."""
    return env_seconds(env, TIMEOUT_ENV, 10.0)


def retry_cap(env: Mapping[str, str]) -> float:
    """The longest wait between two tries of connecting or of a request (the backoff doubles
    from 0.2 s up to it): ``BINANCE_RETRY_CAP``, default 10."""
    return env_seconds(env, RETRY_CAP_ENV, 10.0)

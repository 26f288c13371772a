"""Where TWS / IB Gateway listens and which client id the bot uses: the ``ibkr`` config section,
with ``IBKR_HOST``, ``IBKR_PORT`` and ``IBKR_CLIENT_ID`` from the environment winning."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from trading.core.errors import ConfigError

HOST_ENV, PORT_ENV, CLIENT_ID_ENV = "IBKR_HOST", "IBKR_PORT", "IBKR_CLIENT_ID"
PAPER_ACCOUNT_PREFIX = "DU"  # IB's paper trading accounts; every other account trades real money


@dataclass(frozen=True)
class GatewayAddress:
    """Where the bot connects, and as which API client."""

    host: str
    port: int
    client_id: int

    def describe(self) -> str:
        return f"{self.host}:{self.port} (client id {self.client_id})"


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"environment variable {name} must be a whole number from {low} to "
                          f"{high}, got {text!r}")
    return value


def resolve_address(ibkr: Any, env: Mapping[str, str]) -> GatewayAddress:
    """The address from the ``ibkr`` section (``IbkrConfig``), the environment winning."""
    host = (env.get(HOST_ENV) or "").strip() or ibkr.host
    port = _integer(env, PORT_ENV, int(ibkr.port), 1, 65535)
    client_id = _integer(env, CLIENT_ID_ENV, int(ibkr.client_id), 0, 2**31 - 1)
    return GatewayAddress(host=host, port=port, client_id=client_id)


def is_paper_account(account: str) -> bool:
    """IB's paper trading accounts start with DU; any other account trades real money."""
    return account.upper().startswith(PAPER_ACCOUNT_PREFIX)

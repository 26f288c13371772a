"""The ``ibkr`` config section: where TWS / IB Gateway listens, which client id the bot uses and
which contract ``trading.symbol`` names there (a basket's symbols: the same, except what
``contracts`` says for a symbol), with ``IBKR_HOST``, ``IBKR_PORT`` and ``IBKR_CLIENT_ID`` from
the environment winning. Its JSON Schema is part of the config's."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from trading.core.errors import ConfigError
from trading.core.schema_parts import MAX_NAME, MAX_SYMBOL, enum, obj, scalar
from trading.venues.environment import env_seconds

HOST_ENV, PORT_ENV, CLIENT_ID_ENV = "IBKR_HOST", "IBKR_PORT", "IBKR_CLIENT_ID"
RETRY_CAP_ENV = "IBKR_RETRY_CAP"  # the longest wait between two tries to connect, seconds
DEFAULT_RETRY_CAP = 30.0
PAPER_ACCOUNT_PREFIX = "DU"  # IB's paper trading accounts; every other account trades real money
SEC_TYPES = ("STK", "CASH", "CRYPTO", "FUT")
SECTION = "ibkr"
CONTRACT_KEYS = ("sec_type", "exchange", "primary_exchange", "currency")


@dataclass(frozen=True)
class ContractOverride:
    """One symbol's entry in ``ibkr.contracts``: what differs from the section (None: as the
    section says)."""

    sec_type: str | None = None
    exchange: str | None = None
    primary_exchange: str | None = None
    currency: str | None = None

    @classmethod
    def from_section(cls, raw: Mapping[str, Any]) -> "ContractOverride":
        return cls(**{key: raw[key] for key in CONTRACT_KEYS if key in raw})


@dataclass(frozen=True)
class IbkrConfig:
    """The ``ibkr`` section, typed (the schema's defaults when the config has none).
    ``contracts``: per symbol, what its contract has of its own (a basket's stock listed in
    another currency, a forex pair among stocks)."""

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    sec_type: str = "STK"
    exchange: str = "SMART"
    primary_exchange: str = ""
    currency: str = "USD"
    contracts: Mapping[str, ContractOverride] = field(
        default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_section(cls, raw: Mapping[str, Any]) -> "IbkrConfig":
        contracts = {symbol: ContractOverride.from_section(one)
                     for symbol, one in (raw.get("contracts") or {}).items()}
        return cls(host=raw["host"], port=int(raw["port"]), client_id=int(raw["client_id"]),
                   sec_type=raw["sec_type"], exchange=raw["exchange"],
                   primary_exchange=raw["primary_exchange"], currency=raw["currency"],
                   contracts=MappingProxyType(contracts))

    def for_symbol(self, symbol: str) -> "IbkrConfig":
        """The section as it applies to ``symbol``: its ``contracts`` entry over the rest."""
        override = self.contracts.get(symbol)
        if override is None:
            return self
        changes = {key: getattr(override, key) for key in CONTRACT_KEYS
                   if getattr(override, key) is not None}
        return dataclasses.replace(self, **changes)


def _contract_schema() -> dict[str, Any]:
    return obj(
        "What this symbol's contract has of its own; a key left out is as the ibkr section says.",
        {"sec_type": enum("Security type of this symbol's contract.", SEC_TYPES),
         "exchange": scalar("string", "Exchange or routing of this symbol's contract.",
                            min_length=1, max_length=MAX_SYMBOL),
         "primary_exchange": scalar("string", "Primary listing exchange of this symbol's "
                                    "contract; empty for none.", max_length=MAX_SYMBOL),
         "currency": scalar("string", "Currency of this symbol's contract.", min_length=1,
                            max_length=MAX_SYMBOL)})


SECTION_SCHEMA = obj(
    "Interactive Brokers: where TWS or IB Gateway listens and the contract trading.symbol names "
    "there (used by data_source ibkr and broker ibkr). IBKR_HOST, IBKR_PORT and IBKR_CLIENT_ID "
    "in the environment win.", {
        "host": scalar("string", "Host of TWS / IB Gateway.", "127.0.0.1", min_length=1,
                       max_length=MAX_NAME),
        "port": scalar("integer", "API port: TWS 7497 paper / 7496 live, IB Gateway 4002 paper "
                       "/ 4001 live.", 7497, minimum=1, maximum=65535),
        "client_id": scalar("integer", "API client id; unique among the clients of one TWS (a "
                            "second client with the same id is refused).", 1, minimum=0,
                            maximum=2_147_483_647),
        "sec_type": enum("Security type: STK stock, CASH forex (symbol EURUSD), CRYPTO, FUT "
                         "future (bars only: the ibkr broker does not trade futures yet).",
                         SEC_TYPES, "STK"),
        "exchange": scalar("string", "Exchange or routing (SMART for stocks, IDEALPRO for forex, "
                           "PAXOS for crypto).", "SMART", min_length=1, max_length=MAX_SYMBOL),
        "primary_exchange": scalar("string", "Primary listing exchange (NASDAQ, NYSE) to tell "
                                   "apart contracts that share a symbol; empty for none.", "",
                                   max_length=MAX_SYMBOL),
        "currency": scalar("string", "Currency of the contract.", "USD", min_length=1,
                           max_length=MAX_SYMBOL),
        "contracts": {
            "type": "object", "default": {},
            "description": "A basket's symbols whose contracts differ from the rest, each "
                           "with what it has of its own (sec_type, exchange, primary_exchange, "
                           "currency), e.g. {\"EURUSD\": {\"sec_type\": \"CASH\"}} in a basket "
                           "of stocks; every key must be one of trading.symbols.",
            "propertyNames": {"minLength": 1, "maxLength": MAX_SYMBOL},
            "additionalProperties": _contract_schema()},
    })


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


def retry_cap(env: Mapping[str, str]) -> float:
    """The longest wait between two tries to connect or reconnect (the backoff doubles from
    0.5 s up to it): ``IBKR_RETRY_CAP`` seconds, default 30."""
    return env_seconds(env, RETRY_CAP_ENV, DEFAULT_RETRY_CAP)


def is_paper_account(account: str) -> bool:
    """IB's paper trading accounts start with DU; any other account trades real money."""
    return account.upper().startswith(PAPER_ACCOUNT_PREFIX)

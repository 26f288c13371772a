"""The contract ``trading.symbol`` names at IB (a basket: each symbol's, with its ``ibkr.contracts``
entry over the section): built from the ``ibkr`` section, qualified at start.

``sec_type`` is STK (stocks, ETFs), CASH (forex: ``EURUSD``), CRYPTO or FUT (``ES`` with one
expiry listed, or ``ES 202612`` to choose the month). Qualifying asks TWS for the contract's
details: none is a start-up error, several is one too, listing every candidate and the setting
that tells them apart. Also here: the bar size, ``whatToShow`` and duration of a history request.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ib_async import Contract

from trading.core.errors import ConfigError

SEC_TYPES = ("STK", "CASH", "CRYPTO", "FUT")
BAR_SIZES = {60: "1 min", 180: "3 mins", 300: "5 mins", 900: "15 mins", 1800: "30 mins",
             3600: "1 hour", 7200: "2 hours", 14400: "4 hours", 86400: "1 day", 604800: "1 week"}
WHAT_TO_SHOW = {"STK": "TRADES", "FUT": "TRADES", "CASH": "MIDPOINT", "CRYPTO": "AGGTRADES"}
MAX_CANDIDATES = 12  # listed in a start-up error; the rest are counted


@dataclass(frozen=True)
class ContractSpec:
    """What the config says about the traded contract."""

    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    primary_exchange: str = ""
    currency: str = "USD"

    @classmethod
    def from_config(cls, symbol: str, ibkr: Any) -> "ContractSpec":
        """From ``trading.symbol`` (or one of a basket's symbols) and the ``ibkr`` section
        (``IbkrConfig``; the symbol's entry in its ``contracts`` wins)."""
        if hasattr(ibkr, "for_symbol"):
            ibkr = ibkr.for_symbol(symbol.strip())
        return cls(symbol=symbol.strip(), sec_type=ibkr.sec_type.upper(), exchange=ibkr.exchange,
                   primary_exchange=ibkr.primary_exchange, currency=ibkr.currency)

    def describe(self) -> str:
        where = self.exchange + (f"/{self.primary_exchange}" if self.primary_exchange else "")
        return f"{self.sec_type} {self.symbol} {self.currency} on {where}"

    def contract(self) -> Contract:
        """The contract to ask TWS about (not qualified yet)."""
        if self.sec_type not in SEC_TYPES:
            raise ConfigError(f"ibkr.sec_type: '{self.sec_type}' is not supported; use one of "
                              f"{', '.join(SEC_TYPES)}")
        symbol, exchange, currency = self.symbol.upper(), self.exchange, self.currency
        if self.sec_type == "CASH":
            pair = symbol.replace("/", "").replace(".", "")
            if len(pair) != 6:
                raise ConfigError(f"trading.symbol: a forex pair is six letters like EURUSD, got "
                                  f"'{self.symbol}'")
            return Contract(secType="CASH", symbol=pair[:3], currency=pair[3:],
                            exchange="IDEALPRO" if exchange in ("", "SMART") else exchange)
        if self.sec_type == "FUT":
            root, _, month = symbol.partition(" ")
            return Contract(secType="FUT", symbol=root, currency=currency, exchange=exchange,
                            lastTradeDateOrContractMonth=month.strip())
        if self.sec_type == "CRYPTO":
            return Contract(secType="CRYPTO", symbol=symbol, currency=currency,
                            exchange="PAXOS" if exchange in ("", "SMART") else exchange)
        return Contract(secType="STK", symbol=symbol, currency=currency, exchange=exchange,
                        primaryExchange=self.primary_exchange)


def describe_contract(contract: Contract) -> str:
    """``AAPL STK USD on SMART/NASDAQ (conId 265598)``: one candidate in a message."""
    name = contract.localSymbol or contract.symbol
    parts = [name, contract.secType, contract.currency]
    if contract.lastTradeDateOrContractMonth:
        parts.append(contract.lastTradeDateOrContractMonth)
    where = contract.exchange + (f"/{contract.primaryExchange}" if contract.primaryExchange else "")
    return f"{' '.join(p for p in parts if p)} on {where} (conId {contract.conId})"


def choose(spec: ContractSpec, wanted: Contract, details: Sequence[Any],
           key: str = "trading.symbol") -> Contract:
    """The one contract among ``details`` (``ContractDetails``) the spec names.

    Raises ConfigError naming the contract (under ``key``, the setting that names the symbol:
    ``trading.symbols`` in a basket) when IB knows none, or listing the candidates (and what to
    set) when several match."""
    where = "the ibkr section" if key == "trading.symbol" else \
        f"the ibkr section or its ibkr.contracts entry for {spec.symbol}"
    found = [d.contract for d in details if d.contract is not None]
    found = [c for c in found if c.secType == wanted.secType] or found
    if spec.primary_exchange:
        found = [c for c in found if c.primaryExchange in ("", spec.primary_exchange)] or found
    if not found:
        raise ConfigError(f"{key}: Interactive Brokers knows no contract "
                          f"{spec.describe()}; check {key} and {where} "
                          "(sec_type, exchange, primary_exchange, currency)")
    if len(found) > 1:
        listed = [describe_contract(c) for c in found[:MAX_CANDIDATES]]
        more = len(found) - len(listed)
        hint = {"FUT": "write the month after the symbol, like 'ES 202612'",
                "STK": "set ibkr.primary_exchange (or ibkr.currency) to the one you mean"}.get(
                    spec.sec_type, "set ibkr.exchange and ibkr.currency to the one you mean")
        if key != "trading.symbol" and spec.sec_type != "FUT":
            hint += f" (for {spec.symbol} alone: in its entry of ibkr.contracts)"
        raise ConfigError(f"{key}: {spec.describe()} is ambiguous at Interactive "
                          f"Brokers: {len(found)} contracts match: " + "; ".join(listed)
                          + (f" and {more} more" if more > 0 else "") + f". To choose, {hint}")
    chosen = found[0]
    if wanted.exchange == "SMART":
        chosen.exchange = "SMART"  # route through IB's smart router, as asked
    return chosen


def bar_size(interval_seconds: int) -> str:
    """IB's ``barSizeSetting`` for a config interval (6h and 12h bars do not exist at IB)."""
    try:
        return BAR_SIZES[int(interval_seconds)]
    except KeyError:
        sizes = ", ".join(_label(s) for s in BAR_SIZES)
        raise ConfigError(f"data.interval: Interactive Brokers has no {_label(interval_seconds)} "
                          f"bars; use one of {sizes}") from None


def _label(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def what_to_show(sec_type: str) -> str:
    """TRADES for stocks and futures, MIDPOINT for forex (IB has no trades there)."""
    return WHAT_TO_SHOW.get(sec_type, "TRADES")


def history_duration(bars: int, interval_seconds: int, sec_type: str) -> str:
    """IB's ``durationStr`` covering at least ``bars`` bars; markets that close (stocks, futures)
    get calendar time for nights and weekends."""
    seconds = max(1, bars + 2) * int(interval_seconds)
    if sec_type in ("STK", "FUT", "CASH"):
        seconds = int(seconds * (24 / 6.5 if sec_type == "STK" else 1.2) * 7 / 5) + 3 * 86400
    if interval_seconds >= 86400 or seconds > 365 * 86400:
        years = math.ceil(seconds / (365 * 86400))
        if years > 1:
            return f"{years} Y"
    if seconds <= 86400:
        return f"{max(seconds, 60)} S"
    return f"{math.ceil(seconds / 86400)} D"

"""The fake's security master: contracts it knows, how a request matches them, and the
contractDetails message (server version 176 layout, which carries no version field)."""
from __future__ import annotations

from dataclasses import dataclass, field

from fakes.tws.codec import to_float, to_int

NO_SECURITY = (200, "No security definition has been found for the request")
STK_HOURS = ("20261126:0400-20261126:2000;20261127:0400-20261127:2000")
STK_LIQUID = ("20261126:0930-20261126:1600;20261127:0930-20261127:1600")


@dataclass(frozen=True)
class ContractSpec:
    """One contract TWS knows. ``exchange`` is where it is routed (SMART for stocks)."""

    con_id: int
    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    primary_exchange: str = ""
    currency: str = "USD"
    local_symbol: str = ""
    trading_class: str = ""
    long_name: str = ""
    min_tick: float = 0.01
    multiplier: str = ""
    valid_exchanges: str = "SMART,NASDAQ,NYSE,ARCA,BATS,IEX"
    order_types: str = "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,LMT,MKT,MOC,OCA,STP,STPLMT,TRAIL"
    time_zone_id: str = "US/Eastern"
    trading_hours: str = STK_HOURS
    liquid_hours: str = STK_LIQUID
    stock_type: str = "COMMON"
    industry: str = ""
    category: str = ""
    min_size: float = 1.0
    size_increment: float = 1.0
    market_rule_ids: str = "26,26,26,26,26,26"

    @property
    def local(self) -> str:
        return self.local_symbol or self.symbol


DEFAULT_CONTRACTS: tuple[ContractSpec, ...] = (
    ContractSpec(265598, "AAPL", primary_exchange="NASDAQ", trading_class="NMS",
                 long_name="APPLE INC", industry="Technology", category="Computers"),
    ContractSpec(756733, "SPY", primary_exchange="ARCA", trading_class="SPY",
                 long_name="SPDR S&P 500 ETF TRUST", stock_type="ETF"),
    # the same symbol listed twice: a request without a primary exchange is ambiguous
    ContractSpec(70001, "DUAL", primary_exchange="NYSE", trading_class="DUAL",
                 long_name="DUAL LISTED CORP (NYSE)"),
    ContractSpec(70002, "DUAL", primary_exchange="NASDAQ", trading_class="NMS",
                 long_name="DUAL LISTED CORP (NASDAQ)"),
    ContractSpec(12087792, "EUR", sec_type="CASH", exchange="IDEALPRO", currency="USD",
                 local_symbol="EUR.USD", trading_class="EUR.USD", long_name="European Monetary Union Euro",
                 min_tick=0.00005, valid_exchanges="IDEALPRO", stock_type="",
                 order_types="ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,LMT,MKT,OCA,STP,STPLMT,TRAIL",
                 time_zone_id="US/Eastern", min_size=0.01, size_increment=0.01,
                 market_rule_ids="239"),
)


@dataclass
class ContractRequest:
    """The contract fields a client sends (the 12 of ib_async's ``Contract`` formatter)."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, fields: list[str], at: int) -> "ContractRequest":
        f = fields[at:at + 12]
        return cls(to_int(f[0]), f[1], f[2], f[3], to_float(f[4]), f[5], f[6], f[7], f[8], f[9],
                   f[10], f[11])


def pair_symbol(req: ContractRequest) -> tuple[str, str]:
    """A CASH request's (base, quote): ``Forex('EURUSD')`` sends symbol EUR and currency USD."""
    if req.local_symbol and "." in req.local_symbol:
        base, quote = req.local_symbol.split(".", 1)
        return base, quote
    return req.symbol, req.currency


def matches(spec: ContractSpec, req: ContractRequest) -> bool:
    """Does ``spec`` answer ``req``? A conId decides alone; otherwise every field given must fit."""
    if req.con_id:
        return spec.con_id == req.con_id
    symbol, currency = pair_symbol(req) if req.sec_type == "CASH" else (req.symbol, req.currency)
    if symbol and symbol != spec.symbol:
        return False
    if not symbol and req.local_symbol and req.local_symbol != spec.local:
        return False
    if not symbol and not req.local_symbol:
        return False
    if req.sec_type and req.sec_type != spec.sec_type:
        return False
    if currency and currency != spec.currency:
        return False
    if req.exchange and req.exchange not in spec.valid_exchanges.split(",") \
            and req.exchange != spec.exchange:
        return False
    if req.primary_exchange and req.primary_exchange != spec.primary_exchange:
        return False
    if req.trading_class and req.trading_class != spec.trading_class:
        return False
    return True


def lookup(table: list[ContractSpec], req: ContractRequest) -> list[ContractSpec]:
    return [spec for spec in table if matches(spec, req)]


def details_fields(req_id: int, spec: ContractSpec, exchange: str) -> list[object]:
    """contractDetails (10) for server version 176, field for field as ib_async unpacks it."""
    return [
        10, req_id, spec.symbol, spec.sec_type, "", 0.0, "",
        exchange, spec.currency, spec.local, spec.trading_class, spec.trading_class,
        spec.con_id, spec.min_tick,
        spec.multiplier, spec.order_types, spec.valid_exchanges, 1, 0, spec.long_name,
        spec.primary_exchange, "", spec.industry, spec.category, "", spec.time_zone_id,
        spec.trading_hours, spec.liquid_hours, "", "",
        0,  # no secIds
        1, "", "", spec.market_rule_ids, "", spec.stock_type,
        spec.min_size, spec.size_increment, spec.size_increment,
    ]


def contract_fields(spec: ContractSpec, exchange: str | None = None) -> list[object]:
    """conId, symbol, secType, lastTrade, strike, right, multiplier, exchange, currency,
    localSymbol, tradingClass: the contract as openOrder, execDetails and position carry it."""
    return [spec.con_id, spec.symbol, spec.sec_type, "", 0.0, "", spec.multiplier,
            exchange if exchange is not None else spec.exchange, spec.currency, spec.local,
            spec.trading_class]


def request_exchange(spec: ContractSpec, req: ContractRequest) -> str:
    """The exchange TWS echoes: the one asked for if the contract trades there."""
    return req.exchange if req.exchange else spec.exchange


__all__ = ["ContractSpec", "ContractRequest", "DEFAULT_CONTRACTS", "NO_SECURITY", "lookup",
           "details_fields", "contract_fields", "request_exchange"]

"""The fake's order book and account: orders as TWS holds them, executions with commissions,
positions and cash. Pure state: the server turns what these methods return into messages.

State lives here, not in a client's session, so a client that reconnects (or a new process)
sees the orders, fills and positions made before.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from fakes.tws.codec import to_bool, to_float, to_int
from fakes.tws.contracts import ContractSpec

DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})


class DuplicateOrderId(Exception):
    """placeOrder with the id of an order that is already done (TWS answers error 103)."""


@dataclass
class FillPolicy:
    """How orders fill. ``auto``: a market order fills when placed (at ``market_price`` if set,
    else the contract's last price), a limit or stop order fills when it is marketable on
    placement or when a pushed bar crosses it; without ``auto`` nothing fills until
    ``FakeTWS.fill()``. ``parts``: each fill arrives as this many executions. Commission per
    execution: ``per_share`` x shares, at least ``minimum`` per order (shared over the parts);
    FX (CASH) pays 0.2 basis points of the value, at least 2 per order."""

    auto: bool = True
    parts: int = 1
    market_price: float | None = None
    per_share: float = 0.005
    minimum: float = 1.0


@dataclass
class OrderRecord:
    """One order as TWS holds it (what placeOrder sent, and how it stands)."""

    order_id: int
    client_id: int
    perm_id: int
    account: str
    spec: ContractSpec
    exchange: str
    action: str
    quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str = "DAY"
    oca_group: str = ""
    oca_type: int = 0
    order_ref: str = ""
    parent_id: int = 0
    transmit: bool = True
    outside_rth: bool = False
    good_till_date: str = ""
    status: str = "PreSubmitted"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    placed_at: float = field(default_factory=time.time)
    completed_at: float | None = None
    completed_status: str = ""
    why_held: str = ""
    modifications: int = 0

    @property
    def remaining(self) -> float:
        return 0.0 if self.status in ("Cancelled", "ApiCancelled", "Inactive") \
            else max(self.quantity - self.filled, 0.0)

    @property
    def done(self) -> bool:
        return self.status in DONE

    @property
    def buy(self) -> bool:
        return self.action.upper() == "BUY"


@dataclass
class ExecutionRecord:
    """One execution (a fill or part of one) with its commission report."""

    exec_id: str
    order: OrderRecord
    at: float
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    commission: float
    realized_pnl: float | None

    @property
    def side(self) -> str:
        return "BOT" if self.order.buy else "SLD"


@dataclass
class PositionRecord:
    account: str
    spec: ContractSpec
    quantity: float = 0.0
    avg_cost: float = 0.0
    realized: float = 0.0


def parse_place_order(fields: list[str], server_version: int) -> dict[str, object]:
    """The fields of placeOrder (3) the fake uses (a contract that is not a BAG)."""
    oca_type = fields[47] if server_version < 177 else fields[46]  # faProfile went in 177
    return {
        "order_id": to_int(fields[1]), "action": fields[16], "quantity": to_float(fields[17]),
        "order_type": fields[18], "lmt_price": _price(fields[19]), "aux_price": _price(fields[20]),
        "tif": fields[21], "oca_group": fields[22], "account": fields[23],
        "order_ref": fields[26], "transmit": to_bool(fields[27]), "parent_id": to_int(fields[28]),
        "outside_rth": to_bool(fields[33]), "good_till_date": fields[38],
        "oca_type": to_int(oca_type),
    }


def _price(text: str) -> float | None:
    return to_float(text) if text else None


class Book:
    """Orders, executions, positions and cash of every account."""

    def __init__(self, accounts: list[str], cash: float, currency: str = "USD") -> None:
        self.orders: dict[int, OrderRecord] = {}  # by permId
        self.executions: list[ExecutionRecord] = []
        self.positions: dict[tuple[str, int], PositionRecord] = {}
        self.cash: dict[str, float] = {a: cash for a in accounts}
        self.currency = currency
        self.next_perm = 1_846_200_001
        self.next_exec = 1
        self.policy = FillPolicy()
        # (code, reason, status, order type or None for any)
        self.reject_next: list[tuple[int, str, str, str | None]] = []

    # -- orders ------------------------------------------------------------------------------
    def find(self, client_id: int, order_id: int) -> OrderRecord | None:
        for order in self.orders.values():
            if order.client_id == client_id and order.order_id == order_id:
                return order
        return None

    def max_order_id(self) -> int:
        return max((o.order_id for o in self.orders.values()), default=0)

    def place(self, client_id: int, default_account: str, spec: ContractSpec, exchange: str,
              sent: dict[str, object]) -> tuple[OrderRecord, bool]:
        """A new order, or the working one with this id modified: (order, is_new). Raises
        ``DuplicateOrderId`` for the id of an order that is done."""
        order = self.find(client_id, int(sent["order_id"]))  # type: ignore[arg-type]
        if order is not None and order.done:
            raise DuplicateOrderId(order.order_id)
        if order is not None:
            for key in ("quantity", "lmt_price", "aux_price", "tif", "order_type", "order_ref",
                        "oca_group", "oca_type", "outside_rth", "good_till_date"):
                setattr(order, key, sent[key])
            order.modifications += 1
            return order, False
        perm_id, self.next_perm = self.next_perm, self.next_perm + 1
        order = OrderRecord(client_id=client_id, perm_id=perm_id, spec=spec, exchange=exchange,
                            **{**sent, "account": sent["account"] or default_account})  # type: ignore[arg-type]
        self.orders[perm_id] = order
        return order, True

    def take_rejection(self, order: OrderRecord) -> tuple[int, str, str] | None:
        """The rejection waiting for ``order`` (the first for its type or any type), if any."""
        for i, (code, reason, status, kind) in enumerate(self.reject_next):
            if kind is None or kind.upper() == order.order_type.upper():
                del self.reject_next[i]
                return code, reason, status
        return None

    def working(self) -> list[OrderRecord]:
        return [o for o in self.orders.values() if not o.done]

    def completed(self) -> list[OrderRecord]:
        return [o for o in self.orders.values() if o.done]

    def finish(self, order: OrderRecord, status: str, why: str) -> None:
        order.status = status
        order.completed_at = time.time()
        order.completed_status = why

    def children(self, order: OrderRecord) -> list[OrderRecord]:
        return [o for o in self.working()
                if o.parent_id == order.order_id and o.client_id == order.client_id]

    def oca_peers(self, order: OrderRecord) -> list[OrderRecord]:
        if not order.oca_group:
            return []
        return [o for o in self.working() if o is not order and o.oca_group == order.oca_group
                and o.account == order.account]

    def eligible(self, order: OrderRecord) -> bool:
        """Working, and not a child order whose parent has yet to fill."""
        if order.done:
            return False
        if order.parent_id:
            parent = self.find(order.client_id, order.parent_id)
            return parent is None or parent.status == "Filled"
        return True

    # -- fills -------------------------------------------------------------------------------
    def trigger_price(self, order: OrderRecord, open_: float, high: float, low: float,
                      last: float) -> float | None:
        """Where ``order`` fills if the market traded ``open_``..``high``/``low`` (None: it does
        not). A gap through the level fills at the open, as an exchange would."""
        kind = order.order_type.upper()
        if kind == "MKT":
            return last
        if kind == "LMT" and order.lmt_price is not None:
            if order.buy and low <= order.lmt_price:
                return min(open_, order.lmt_price)
            if not order.buy and high >= order.lmt_price:
                return max(open_, order.lmt_price)
        if kind in ("STP", "STP LMT") and order.aux_price is not None:
            if order.buy and high >= order.aux_price:
                return max(open_, order.aux_price)
            if not order.buy and low <= order.aux_price:
                return min(open_, order.aux_price)
        return None

    def commission(self, order: OrderRecord, shares: float, price: float) -> float:
        """IBKR's fixed rates: per share with a minimum per order for stocks; 0.2 basis points
        of the value, at least 2 (quote currency) per order for FX."""
        p = self.policy
        share_of_order = shares / order.quantity
        if order.spec.sec_type == "CASH":
            return round(max(0.00002 * shares * price, 2.0 * share_of_order), 4)
        return round(max(p.per_share * shares, p.minimum * share_of_order), 4)

    def execute(self, order: OrderRecord, shares: float, price: float) -> ExecutionRecord:
        """Fill ``shares`` of ``order`` at ``price``: the execution, position and cash follow."""
        shares = min(shares, order.remaining)
        cost = order.avg_fill_price * order.filled + price * shares
        order.filled += shares
        order.avg_fill_price = round(cost / order.filled, 8)
        order.last_fill_price = price
        order.status = "Filled" if order.remaining <= 1e-9 else "Submitted"
        if order.status == "Filled":
            self.finish(order, "Filled", "Filled")
        commission = self.commission(order, shares, price)
        realized = self._move_position(order, shares, price, commission)
        self.cash[order.account] = self.cash.get(order.account, 0.0) \
            - (shares if order.buy else -shares) * price * self._multiplier(order.spec) - commission
        exec_id = f"0000e0d5.{self.next_exec:08x}.01.01"
        self.next_exec += 1
        record = ExecutionRecord(exec_id, order, time.time(), shares, price, order.filled,
                                 order.avg_fill_price, commission, realized)
        self.executions.append(record)
        return record

    @staticmethod
    def _multiplier(spec: ContractSpec) -> float:
        return float(spec.multiplier) if spec.multiplier else 1.0

    def _move_position(self, order: OrderRecord, shares: float, price: float,
                       commission: float) -> float | None:
        """Update the position; the realized P&L when the fill reduced it, else None."""
        key = (order.account, order.spec.con_id)
        pos = self.positions.setdefault(key, PositionRecord(order.account, order.spec))
        signed = shares if order.buy else -shares
        mult = self._multiplier(order.spec)
        if pos.quantity == 0 or (pos.quantity > 0) == (signed > 0):
            total = pos.avg_cost * abs(pos.quantity) + price * mult * shares + commission
            pos.quantity += signed
            pos.avg_cost = total / abs(pos.quantity)
            return None
        closing = min(abs(signed), abs(pos.quantity))
        direction = 1 if pos.quantity > 0 else -1
        realized = (price * mult - pos.avg_cost) * closing * direction - commission
        pos.quantity += signed
        pos.realized += realized
        if abs(pos.quantity) < 1e-9:
            pos.quantity, pos.avg_cost = 0.0, 0.0
        elif (pos.quantity > 0) != (direction > 0):  # flipped: the rest opens at this price
            pos.avg_cost = price * mult
        return round(realized, 4)

    # -- the account -------------------------------------------------------------------------
    def account_values(self, account: str, prices: dict[int, float]) -> list[tuple[str, str, str]]:
        """(tag, value, currency) as updateAccountValue carries them."""
        cash = self.cash.get(account, 0.0)
        gross = sum(abs(p.quantity) * prices.get(p.spec.con_id, 0.0) * self._multiplier(p.spec)
                    for p in self.positions.values() if p.account == account)
        net = cash + sum(p.quantity * prices.get(p.spec.con_id, 0.0) * self._multiplier(p.spec)
                         for p in self.positions.values() if p.account == account)
        unreal = sum(self.unrealized(p, prices) for p in self.positions.values()
                     if p.account == account)
        realized = sum(p.realized for p in self.positions.values() if p.account == account)
        c = self.currency
        money = {"NetLiquidation": net, "TotalCashValue": cash, "SettledCash": cash,
                 "AvailableFunds": net, "BuyingPower": net * 4, "EquityWithLoanValue": net,
                 "GrossPositionValue": gross, "ExcessLiquidity": net,
                 "UnrealizedPnL": unreal, "RealizedPnL": realized}
        values = [("AccountCode", account, ""),
                  ("AccountType", "INDIVIDUAL", ""),
                  ("AccountReady", "true", "")]
        values += [(tag, f"{value:.2f}", c) for tag, value in money.items()]
        values += [("CashBalance", f"{cash:.2f}", c), ("CashBalance", f"{cash:.2f}", "BASE"),
                   ("TotalCashBalance", f"{cash:.2f}", "BASE"), ("Currency", c, c),
                   ("Currency", "BASE", "BASE"), ("ExchangeRate", "1.00", c)]
        return values

    def unrealized(self, pos: PositionRecord, prices: dict[int, float]) -> float:
        price = prices.get(pos.spec.con_id)
        if price is None or pos.quantity == 0:
            return 0.0
        return (price * self._multiplier(pos.spec) - pos.avg_cost) * pos.quantity

    def account_positions(self, account: str | None = None) -> list[PositionRecord]:
        return [p for p in self.positions.values() if account is None or p.account == account]

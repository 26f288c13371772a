"""Order, execution, position and account messages, laid out exactly as ib_async 2.1 decodes them
for server version 176 (openOrder and completedOrder still carry faProfile below 177; execDetails
has no pendingPriceRevision below 178). Values TWS leaves unset are sent as TWS sends them."""
from __future__ import annotations

from fakes.tws.codec import UNSET_DOUBLE, UNSET_INTEGER, epoch_text
from fakes.tws.contracts import ContractSpec, contract_fields
from fakes.tws.orders import ExecutionRecord, OrderRecord, PositionRecord

UD, UI = UNSET_DOUBLE, UNSET_INTEGER


def _price(value: float | None) -> float:
    return 0.0 if value is None else value  # TWS shows an unused price as 0


def _listing(spec: ContractSpec) -> str:
    """The exchange TWS puts on positions and fills: the listing, or the venue for FX."""
    return spec.primary_exchange or spec.exchange


def open_order_fields(o: OrderRecord, version: int) -> list[object]:
    """openOrder (5)."""
    f: list[object] = [5, o.order_id, *contract_fields(o.spec, o.exchange),
                       o.action, o.quantity, o.order_type, _price(o.lmt_price), _price(o.aux_price),
                       o.tif, o.oca_group, o.account, "O", 0, o.order_ref, o.client_id, o.perm_id,
                       o.outside_rth, False, 0.0, "", "", "", "", ""]
    if version < 177:
        f += [""]  # faProfile
    f += ["", o.good_till_date, "", UD, "", 0, "", -1, 0, UD, UD, UD, UD, UD, 0, False, False,
          False, UI, o.oca_type, False, False, UD, o.parent_id, 0, UD, 0, "", UD]
    f += [False, 0, UD, UD, UD, UI, ""]  # continuousUpdate .. comboLegsDescrip
    f += [0, 0, 0]  # combo legs, order combo legs, smart combo routing params
    f += [UI, UI, UD]  # scale init/subs level size, price increment (unset: no scale fields)
    f += [""]  # hedgeType
    f += [False, "", "IB", False, False]  # optOutSmartRouting .. no delta-neutral contract
    f += [""]  # algoStrategy
    f += [False, False, o.status, *([UD] * 9), UD, UD, UD, "", "", False, False]
    f += [0]  # conditions
    f += ["None", UD, UD, UD, UD, UD, UD, 0, "", "", "", UD, False, False, False, False]
    f += [UI, UI, False]  # duration, postToAts, autoCancelParent
    f += [UI, UI, UD, UD, UD]  # minTradeQty .. midOffsetAtHalf (170+)
    return f


def order_status_fields(o: OrderRecord) -> list[object]:
    """orderStatus (3): no version field since server version 131."""
    return [3, o.order_id, o.status, o.filled, o.remaining, o.avg_fill_price, o.perm_id,
            o.parent_id, o.last_fill_price, o.client_id, o.why_held, 0.0]


def completed_order_fields(o: OrderRecord, version: int, tz: str) -> list[object]:
    """completedOrder (101): an order that is done, without its order id (as TWS sends it)."""
    f: list[object] = [101, *contract_fields(o.spec, o.exchange), o.action, o.quantity,
                       o.order_type, _price(o.lmt_price), _price(o.aux_price), o.tif, o.oca_group,
                       o.account, "O", 0, o.order_ref, o.perm_id, o.outside_rth, False, 0.0, "",
                       "", "", ""]
    if version < 177:
        f += [""]  # faProfile
    f += ["", o.good_till_date, "", UD, "", 0, "", -1, UD, UD, UD, UD, UD, 0, False, False, UI,
          o.oca_type, 0, UD, 0, "", UD]
    f += [False, 0, UD, UD, ""]  # continuousUpdate .. comboLegsDescrip
    f += [0, 0, 0]
    f += [UI, UI, UD]
    f += [""]  # hedgeType
    f += ["", "IB", False, False]  # clearingAccount .. no delta-neutral contract
    f += [""]  # algoStrategy
    f += [False, o.status, False, False]
    f += [0]  # conditions
    done_at = epoch_text(o.completed_at or o.placed_at, tz)
    f += [UD, UD, UD, False, False, "", o.filled, 0, False, "", False, False, 0, done_at,
          o.completed_status]
    f += [UI, UI, UD, UD, UD]
    return f


def exec_details_fields(req_id: int, ex: ExecutionRecord, tz: str) -> list[object]:
    """execDetails (11): reqId -1 for a live fill."""
    o = ex.order
    venue = _listing(o.spec)
    return [11, req_id, o.order_id, *contract_fields(o.spec, venue), ex.exec_id,
            epoch_text(ex.at, tz), o.account, venue, ex.side, ex.shares, ex.price, o.perm_id,
            o.client_id, 0, ex.cum_qty, ex.avg_price, o.order_ref, "", "", "", 1]


def commission_fields(ex: ExecutionRecord) -> list[object]:
    """commissionReport (59)."""
    realized = UD if ex.realized_pnl is None else ex.realized_pnl
    return [59, 1, ex.exec_id, ex.commission, ex.order.spec.currency, realized, UD, ""]


def position_fields(p: PositionRecord) -> list[object]:
    """position (61)."""
    return [61, 3, p.account, *contract_fields(p.spec, _listing(p.spec)), p.quantity, p.avg_cost]


def portfolio_fields(p: PositionRecord, price: float, unrealized: float) -> list[object]:
    """updatePortfolio (7): the contract carries primaryExchange, not exchange."""
    s = p.spec
    value = p.quantity * price * (float(s.multiplier) if s.multiplier else 1.0)
    return [7, 8, s.con_id, s.symbol, s.sec_type, "", 0.0, "", s.multiplier,
            s.primary_exchange, s.currency, s.local, s.trading_class, p.quantity, price,
            round(value, 2), p.avg_cost, round(unrealized, 2), round(p.realized, 2), p.account]

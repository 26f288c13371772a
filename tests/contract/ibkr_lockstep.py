"""The ibkr broker under the broker contract: the real ``IbkrBroker`` and ib_async against the
loopback TWS, with the market played bar by bar.

The contract drives Cerebro through crafted bars; a real venue fills on its own clock. So the
fake TWS fills nothing by itself here: at each bar, before the broker reports, the market of
that bar is played at TWS the way the contract's market works (a market order at the open, a
limit or stop at its price, or at the open when the bar gaps through it), with IB's commission
set to the contract's rate, and the broker waits (bounded) until TWS has told it everything,
a cancel's answer included. What the broker does with TWS's messages is not touched.

A basket trades ``BASKET``'s three stocks (one more added to the fake's contracts): each working
order fills against the bar of its own contract's symbol, when that symbol has a new bar.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import backtrader as bt

from trading.venues.ibkr.broker import IbkrBroker
from fakes.tws import ContractSpec, FakeTWS
from trading.core.settings import BrokerConfig, DataConfig
from trading.runtime.io_thread import IOThread
from trading.venues.registry import VenueRequest, venues

SETTLE_SECONDS = 5.0
BASKET = ("AAPL", "SPY", "MSFT")
MSFT = ContractSpec(272093, "MSFT", primary_exchange="NASDAQ", trading_class="NMS",
                    long_name="MICROSOFT CORP")
ENDED = ("filled", "canceled", "rejected", "expired")
IB_STATUS = {"Filled": ("filled",), "Cancelled": ("canceled", "rejected"),
             "ApiCancelled": ("canceled", "rejected"), "Inactive": ("rejected", "canceled")}


def fill_price(order: Any, bar: tuple[float, float, float]) -> float | None:
    """Where the contract's market fills a working order in a bar (open, high, low)."""
    opened, high, low = bar
    price = order.lmt_price if order.order_type == "LMT" else order.aux_price
    buy = order.action == "BUY"
    if order.order_type == "MKT":
        return opened
    if order.order_type == "LMT":
        if (opened <= price) if buy else (opened >= price):
            return opened
        return price if ((low <= price) if buy else (high >= price)) else None
    if order.order_type == "STP":
        if (opened >= price) if buy else (opened <= price):
            return opened
        return price if ((high >= price) if buy else (low <= price)) else None
    return None


class LockstepIbkrBroker(IbkrBroker):
    """``IbkrBroker`` whose every tick first plays the bar at the fake TWS (module docstring)."""

    params = (("tws", None), ("fee_rate", 0.0))

    def __init__(self) -> None:
        super().__init__()
        self._played: dict[int, int] = {}  # id(data) -> its bars played at TWS

    def next(self) -> None:
        tws: FakeTWS = self.p.tws
        self.transmit_held()  # the orders of the bar before reach TWS before this bar plays
        self._settle()
        fresh = [d for d in self._datas() if len(d) and self._played.get(id(d)) != len(d)]
        if fresh:
            bars = {}  # conId -> the bar its symbol's data has just got
            for data in fresh:
                self._played[id(data)] = len(data)
                contract = self.venue.contract_of(self._symbol_of(data))
                bars[contract.conId] = (data.open[0], data.high[0], data.low[0])
            filled_groups: set[str] = set()
            for order in tws.orders():
                if order.done or order.order_ref not in self._live:
                    continue
                if self._live[order.order_ref].canceling:
                    continue
                if order.oca_group and order.oca_group in filled_groups:
                    continue
                bar = bars.get(order.spec.con_id)
                if bar is None:
                    continue  # its symbol has no new bar
                price = fill_price(order, bar)
                if price is None:
                    continue
                tws.set_fill_policy(per_share=price * self.p.fee_rate, minimum=0.0)
                tws.fill(ref=order.order_ref, price=price)
                if order.oca_group:
                    filled_groups.add(order.oca_group)
            self._settle()
        super().next()

    def _settle(self) -> None:
        """Wait until the gateway has heard everything TWS did with this broker's orders."""
        tws: FakeTWS = self.p.tws
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            tracked = self.gateway._tracked
            at_tws = {o.order_ref: o for o in tws.orders()}
            behind = False
            for cid, live in list(self._live.items()):
                mine = tracked.get(cid)
                if mine is None or mine.status == "sent":
                    behind = True  # not answered yet
                    break
                if live.canceling and mine.status not in ENDED:
                    behind = True  # canceled by the strategy: TWS's answer comes first
                    break
                theirs = at_tws.get(cid)
                if theirs is not None and theirs.status in IB_STATUS \
                        and mine.status not in IB_STATUS[theirs.status]:
                    behind = True
                    break
            if not behind:
                # the gateway sets an order's state, then queues its update, in one step of the
                # I/O loop: once one more step has run, that update is queued for next()
                self.venue.submit(asyncio.sleep(0), name="lockstep barrier").result(SETTLE_SECONDS)
                return
            time.sleep(0.005)
        raise AssertionError("the ibkr broker did not hear TWS's answers within "
                             f"{SETTLE_SECONDS:g}s")


def build_ibkr(request: Any, *, cash: float, commission: float, restore: Any,
               symbols: tuple[str, ...] = ("AAPL",), same_account: bool = False
               ) -> bt.BrokerBase:
    """A ``LockstepIbkrBroker`` trading ``symbols`` (``BASKET``'s) on a fresh fake TWS holding
    ``cash`` (``same_account``: the TWS the test's broker before used, as it left it, once that
    broker's connection is closed, as a restart finds it), on its own I/O thread."""
    tws = getattr(request.node, "contract_tws", None) if same_account else None
    if tws is not None:
        request.node.contract_ibkr_close()  # the broker before is gone: its client id is free
    else:
        tws = FakeTWS(cash=cash).start()
        tws.add_contract(MSFT)
        request.addfinalizer(tws.stop)
        request.node.contract_tws = tws
    tws.set_fill_policy(auto=False, per_share=0.0, minimum=0.0)
    io = IOThread(name="contract-ibkr-io")
    io.start()
    data = DataConfig(data_source="ibkr", symbol=symbols[0], interval="1h", lookback_bars=0,
                      retry_interval=1, file_path=None, speed=0, symbols=symbols)
    config = BrokerConfig("ibkr", cash, commission, 0.0)
    declared = venues().for_broker("ibkr")
    venue = declared.connect(VenueRequest(broker=config, data=data, settings=None,
                                          symbol=symbols[0], symbols=symbols,
                                          env={"IBKR_PORT": str(tws.port)}))
    venue.bind(io.submit)

    def close() -> None:
        if not io.running:
            return
        try:
            io.submit(venue.close(), name="close venue").result(5)
        finally:
            io.stop(timeout=5)
    request.addfinalizer(close)
    request.node.contract_ibkr_close = close
    plain = declared.broker(venue, config, symbols)
    assert isinstance(plain, IbkrBroker)  # what the registry builds is what is tested here
    return LockstepIbkrBroker(venue=venue, symbols=symbols, tws=tws, fee_rate=commission)

"""Binance trading a basket from one account (issue 17), with the real python-binance client
against the loopback exchange: each symbol's exchange filters, the account read per symbol with
one cash, every order placed, looked up and followed at its own symbol, the one user data
stream's reports routed to the order they belong to, and the orders a broker sends rounded to
their own symbol's grid."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Iterator

import backtrader as bt
import pytest

from contract.binance_lockstep import LockstepBinanceBroker
from contract.test_broker_contract import flat, frame
from fakes.binance import FakeBinance, Fault
from fakes.binance.account import Filters, Listing
from trading.core.client_ids import client_id, symbol_of, symbol_tag
from trading.core.errors import ConfigError, VenueError
from trading.core.reports import OrderUpdate
from trading.core.settings import BrokerConfig, DataConfig
from trading.core.types import Bar
from trading.runtime.io_thread import IOThread
from trading.venues.binance.order_types import OrderIntent
from trading.venues.binance.orders import OrderGateway
from trading.venues.registry import VenueRequest, venues

BASKET = ("ETCBTC", "XLMBTC", "TRXBTC")
# each symbol with filters of its own, as Binance lists them (XLM and TRX trade in whole units)
FILTERS = {"ETCBTC": Filters(tick=Decimal("0.000001"), step=Decimal("0.01"),
                             min_qty=Decimal("0.01"), min_notional=Decimal("0.0001")),
           "XLMBTC": Filters(tick=Decimal("0.00000001"), step=Decimal("1"),
                             min_qty=Decimal("1"), min_notional=Decimal("0.0001")),
           "TRXBTC": Filters(tick=Decimal("0.00000001"), step=Decimal("1"),
                             min_qty=Decimal("1"), min_notional=Decimal("0.01"))}
PRICES = {"ETCBTC": 0.0005, "XLMBTC": 0.000003, "TRXBTC": 0.000002}
T0 = 1_704_067_200.0


def tagged(purpose: str, symbol: str, ts: float = T0) -> str:
    return client_id("7401", ts, purpose, symbol_tag(symbol))


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    backdrop = [Bar(T0 + 300 * i, PRICES["ETCBTC"], PRICES["ETCBTC"], PRICES["ETCBTC"],
                    PRICES["ETCBTC"], 0.0) for i in range(3)]
    exchange = FakeBinance(backdrop, symbol="ETCBTC", base="ETC", quote="BTC", history=2,
                           filters=FILTERS["ETCBTC"], bnb_price=0.01,
                           balances={"BTC": 1.0, "BNB": 10.0, "XLM": 500.0},
                           listings=[Listing(s, s[:-3], "BTC", FILTERS[s]) for s in BASKET[1:]]
                           ).start()
    for symbol in BASKET[1:]:
        exchange.trade_at(PRICES[symbol], symbol)
    yield exchange
    exchange.stop()


@pytest.fixture
def io() -> Iterator[IOThread]:
    thread = IOThread(name="binance-basket-io")
    thread.start()
    yield thread
    thread.stop(timeout=5)


def connect(fake: FakeBinance, io: IOThread) -> Any:
    declared = venues().for_broker("binance_paper")
    data = DataConfig(data_source="binance", symbol=BASKET[0], interval="5m", lookback_bars=0,
                      retry_interval=1, file_path=None, speed=0, symbols=BASKET)
    connection = declared.connect(VenueRequest(
        broker=BrokerConfig("binance_paper", 0.0, 0.0, 0.0), data=data, settings=None,
        symbol=BASKET[0], symbols=BASKET, env=fake.env()))
    connection.bind(io.submit)
    return connection


@pytest.fixture
def gateway(fake: FakeBinance, io: IOThread) -> Iterator[OrderGateway]:
    connection = connect(fake, io)
    gate = OrderGateway(connection, BASKET)
    yield gate
    run(io, gate.stop(), timeout=30)  # bounded; a busy machine may take a while
    run(io, connection.close(), timeout=30)


def run(io: IOThread, coro: Any, timeout: float = 10.0) -> Any:
    return io.submit(coro, name="test").result(timeout)


def until(condition: Any, timeout: float = 30.0) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def final_updates(gateway: OrderGateway, client_ids: set[str],
                  timeout: float = 10.0) -> dict[str, list[OrderUpdate]]:
    """Every update of ``client_ids`` until each has a final one (bounded wait)."""
    seen: dict[str, list[OrderUpdate]] = {cid: [] for cid in client_ids}
    done: set[str] = set()
    deadline = time.monotonic() + timeout
    while done != client_ids and time.monotonic() < deadline:
        try:
            update = gateway.updates.get(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:
            break
        if isinstance(update, OrderUpdate) and update.client_id in seen:
            seen[update.client_id].append(update)
            if update.status in ("filled", "canceled", "expired", "rejected"):
                done.add(update.client_id)
    assert done == client_ids, f"no final update for {client_ids - done}"
    return seen


# -- the ids: which symbol an order belongs to ----------------------------------------------------
def test_an_order_id_names_its_symbol_by_its_tag():
    assert [symbol_of(tagged("entry", s), BASKET) for s in BASKET] == list(BASKET)
    assert symbol_of("7401-1704067200-entry", BASKET) == "ETCBTC"  # no tag: the first symbol
    assert symbol_of(tagged("sl", "DOGEBTC"), BASKET) is None
    assert symbol_of("anything", ("ETHBTC",)) == "ETHBTC"  # one symbol: every id is its


# -- start-up: each symbol's rules and account, one cash -------------------------------------------
def test_start_reads_every_symbols_filters_and_position_with_one_cash(fake, io, gateway):
    accounts = run(io, gateway.start())
    assert list(accounts) == list(BASKET)
    assert {s: (r.base, r.step, r.tick, r.min_notional) for s, r in gateway.rules.items()} == {
        s: (s[:-3], f.step, f.tick, f.min_notional) for s, f in FILTERS.items()}
    assert [accounts[s].position for s in BASKET] == [0.0, 500.0, 0.0]
    assert {a.cash for a in accounts.values()} == {1.0}  # one cash: the quote asset, BTC
    assert [accounts[s].price for s in BASKET] == [PRICES[s] for s in BASKET]
    assert accounts["XLMBTC"].step == 1.0 and accounts["ETCBTC"].step == 0.01
    asked = {r.params.get("symbol") for r in fake.requests if r.path == "/api/v3/openOrders"}
    assert asked == set(BASKET)  # the REST reads go symbol by symbol


def test_a_basket_quoted_in_two_assets_is_refused_at_start(fake, io):
    connection = connect(fake, io)
    fake.account.listings["ETHUSDT"] = Listing("ETHUSDT", "ETH", "USDT")
    gate = OrderGateway(connection, ("ETCBTC", "ETHUSDT"))
    try:
        with pytest.raises(ConfigError, match="share one quote asset; Binance quotes ETCBTC in "
                                              "BTC, ETHUSDT in USDT"):
            run(io, gate.start())
    finally:
        run(io, connection.close())


def test_a_symbol_binance_does_not_list_is_named(fake, io):
    connection = connect(fake, io)
    gate = OrderGateway(connection, ("ETCBTC", "DOGEBTC"))
    try:
        with pytest.raises(VenueError, match="does not list the symbol DOGEBTC"):
            run(io, gate.start())
    finally:
        run(io, connection.close())


# -- orders at their own symbol; the one user stream routed ---------------------------------------
def test_orders_on_each_symbol_fill_there_and_each_report_reaches_its_order(fake, io, gateway):
    run(io, gateway.start())
    assert until(lambda: gateway.stream_up)
    buys = {s: tagged("entry", s) for s in BASKET}
    quantities = {"ETCBTC": Decimal("2.5"), "XLMBTC": Decimal("300"), "TRXBTC": Decimal("6000")}
    for symbol, cid in buys.items():
        run(io, gateway.place(OrderIntent(cid, "BUY", "MARKET", quantities[symbol],
                                          symbol=symbol)))
    updates = final_updates(gateway, set(buys.values()))
    for symbol, cid in buys.items():
        (fill,) = [f for u in updates[cid] for f in u.fills]
        assert (fill.quantity, fill.price) == (float(quantities[symbol]), PRICES[symbol])
        assert fill.fee == pytest.approx(fill.quantity * fill.price * 0.001)  # in BNB, valued
    placed = {r.params["newClientOrderId"]: r.params["symbol"] for r in fake.requests
              if r.path == "/api/v3/order" and r.method == "POST"}
    assert placed == {cid: s for s, cid in buys.items()}
    # a resting sell on one symbol, matched by its own bar; the stream tells that order only
    sell = tagged("tp", "XLMBTC")
    run(io, gateway.place(OrderIntent(sell, "SELL", "LIMIT", Decimal("300"),
                                      price=Decimal("0.00000400"), symbol="XLMBTC")))
    fake.match(Bar(T0, 0.000003, 0.000005, 0.000003, 0.000004, 0.0), "ETCBTC")  # not its bar
    fake.match(Bar(T0, 0.000003, 0.000005, 0.000003, 0.000004, 0.0), "XLMBTC")
    (sold,) = [f for u in final_updates(gateway, {sell})[sell] for f in u.fills]
    assert (sold.quantity, sold.price) == (300.0, 0.000004)
    assert gateway.reports >= 2  # the fills came over the user data stream


def test_a_report_of_another_symbols_order_with_a_known_id_is_not_taken(fake, io, gateway):
    """The stream carries every symbol's executions: one is booked only by the order of that
    symbol (the same client id on another symbol is someone else's order)."""
    run(io, gateway.start())
    assert until(lambda: gateway.stream_up)  # the other symbol's report comes over it
    cid = tagged("entry", "XLMBTC")
    run(io, gateway.place(OrderIntent(cid, "BUY", "LIMIT", Decimal("100"),
                                      price=Decimal("0.00000250"), symbol="XLMBTC")))
    # another program's order with the same client id on TRXBTC, filled at once
    fake.place_order({"symbol": "TRXBTC", "side": "BUY", "type": "MARKET", "quantity": "7000",
                      "newClientOrderId": cid})
    fake.match(Bar(T0, 0.000003, 0.000003, 0.000002, 0.000002, 0.0), "XLMBTC")
    (filled,) = [f for u in final_updates(gateway, {cid})[cid] for f in u.fills]
    assert (filled.quantity, filled.price) == (100.0, 0.0000025)


def test_an_order_is_looked_up_and_canceled_at_the_symbol_its_tag_names(fake, io, gateway):
    run(io, gateway.start())
    cid = tagged("sl", "TRXBTC")
    # placed before a restart: only the id says at which symbol it is
    fake.place_order({"symbol": "TRXBTC", "side": "BUY", "type": "LIMIT", "quantity": "10000",
                      "price": "0.00000100", "newClientOrderId": cid})
    found = run(io, gateway.report(cid))
    assert found is not None and (found.quantity, found.status) == (10000.0, "accepted")
    run(io, gateway.cancel(cid))
    assert final_updates(gateway, {cid})[cid][-1].status == "canceled"
    asked = [(r.method, r.params.get("symbol")) for r in fake.requests
             if r.path == "/api/v3/order" and r.params.get("origClientOrderId") == cid]
    assert asked == [("GET", "TRXBTC"), ("DELETE", "TRXBTC")]


# -- the broker: each order on its own symbol's grid -----------------------------------------------
class Buyer(bt.Strategy):
    """Buys the same odd value of every symbol on the first bar."""

    def next(self) -> None:
        if len(self) == 1:
            for data in self.datas:
                self.buy(data=data, size=0.004 / data.close[0] * 1.0003)


def test_the_broker_rounds_each_order_to_its_own_symbols_lot_and_refuses_it_under_its_minimum(
        fake, io):
    connection = connect(fake, io)
    broker = LockstepBinanceBroker(venue=connection, symbols=BASKET, fake=fake)
    cerebro = bt.Cerebro(stdstats=False)
    for symbol in BASKET:
        cerebro.adddata(bt.feeds.PandasData(dataname=frame([flat(PRICES[symbol])] * 3)),
                        name=symbol)
    cerebro.broker = broker
    cerebro.addstrategy(Buyer)
    try:
        cerebro.run()
    finally:
        run(io, broker.gateway.stop())
        run(io, connection.close())
    sent = {r.params["symbol"]: r.params["quantity"] for r in fake.requests
            if r.path == "/api/v3/order" and r.method == "POST"}
    # 0.004 BTC of each: 8.0024 ETC down to ETC's 0.01 step, 1333.7 XLM down to a whole unit,
    # and TRX's 0.004 BTC is under its 0.01 BTC minimum notional: refused here, nothing sent
    assert sent == {"ETCBTC": "8", "XLMBTC": "1333"}
    positions = {d._name: broker.getposition(d).size for d in cerebro.datas}
    assert positions == {"ETCBTC": 8.0, "XLMBTC": 1333.0, "TRXBTC": 0.0}


class BuyThenDrop(bt.Strategy):
    """Buys 0.004 BTC of the first two symbols on the first bar; on the third, ``hook()``."""

    params = (("hook", None),)

    def next(self) -> None:
        if len(self) == 1:
            for data in self.datas[:2]:
                self.buy(data=data, size=0.004 / data.close[0])
        elif len(self) == 3:
            self.p.hook()


def test_after_a_reconnect_each_symbols_position_is_compared_on_its_own(fake, io):
    """The user stream drops; once it is back and every order caught up, the account is read
    again: a symbol sold outside the bot meanwhile is reported under its symbol, the others
    agree."""
    connection = connect(fake, io)
    broker = LockstepBinanceBroker(venue=connection, symbols=BASKET, fake=fake)
    told: list = []
    broker.events_to(told.append)

    def drop_and_sell_outside() -> None:
        fake.place_order({"symbol": "XLMBTC", "side": "SELL", "type": "MARKET",
                          "quantity": "1000"})  # someone sells XLM in the same account
        fake.inject(Fault("drop_user_streams"))
        # back, every order caught up, the account read again: it waits for the next bar
        assert until(lambda: broker.gateway.resubscribes >= 1
                     and not broker.gateway.updates.empty()), "the user stream never came back"

    cerebro = bt.Cerebro(stdstats=False)
    for symbol in BASKET:
        cerebro.adddata(bt.feeds.PandasData(dataname=frame([flat(PRICES[symbol])] * 8)),
                        name=symbol)
    cerebro.broker = broker
    cerebro.addstrategy(BuyThenDrop, hook=drop_and_sell_outside)
    try:
        cerebro.run()
    finally:
        run(io, broker.gateway.stop(), timeout=30)
        run(io, connection.close(), timeout=30)
    # the account held 500 XLM before the bot bought 1333; 1000 sold outside leaves 833
    assert [e.status["symbol"] for e in told] == ["XLMBTC"]
    assert "holds 833 XLMBTC but the bot holds 1333" in told[0].message
    assert {d._name: broker.getposition(d).size for d in cerebro.datas} == \
        {"ETCBTC": 8.0, "XLMBTC": 1333.0, "TRXBTC": 0.0}

"""Interactive Brokers trading a basket on one connection (issue 17), with the real ib_async
client against the loopback TWS: one contract qualified per symbol, the account read per
contract with one cash, each order at its own symbol's contract, executions and positions told
apart by contract, an order found again by its orderRef at its own contract."""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from fakes.tws import ContractSpec as TwsContract
from fakes.tws import FakeTWS
from trading.core.client_ids import client_id, symbol_tag
from trading.core.errors import ConfigError
from trading.core.reports import OrderUpdate
from trading.runtime.io_thread import IOThread
from trading.venues.ibkr import connect
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.contracts import ContractSpec
from trading.venues.ibkr.order_types import OrderIntent
from trading.venues.ibkr.orders import OrderGateway
from trading.venues.ibkr.settings import GatewayAddress
from trading.core.settings import BrokerConfig, DataConfig
from trading.venues.registry import VenueRequest

BASKET = ("AAPL", "SPY", "MSFT")
MSFT = TwsContract(272093, "MSFT", primary_exchange="NASDAQ", trading_class="NMS",
                   long_name="MICROSOFT CORP")
T0 = 1_700_000_100.0


def tagged(purpose: str, symbol: str) -> str:
    return client_id("7501", T0, purpose, symbol_tag(symbol))


@pytest.fixture
def io() -> Iterator[IOThread]:
    thread = IOThread(name="ibkr-basket-io")
    thread.start()
    yield thread
    thread.stop(timeout=5)


@pytest.fixture
def tws() -> Iterator[FakeTWS]:
    fake = FakeTWS(cash=50_000.0).start()
    fake.add_contract(MSFT)
    fake.set_fill_policy(auto=False, per_share=0.01, minimum=0.0)
    yield fake
    fake.stop()


def run(io: IOThread, coro, timeout: float = 10.0):
    return io.submit(coro, name="test").result(timeout)


def basket_venue(io: IOThread, tws: FakeTWS, symbols: tuple[str, ...] = BASKET) -> IbkrVenue:
    """The connection the bot builds for a basket (through the venue's declaration)."""
    data = DataConfig(data_source="ibkr", symbol=symbols[0], interval="5m", lookback_bars=0,
                      retry_interval=1, file_path=None, speed=0, symbols=symbols)
    venue = connect(VenueRequest(broker=BrokerConfig("ibkr", 0.0, 0.0, 0.0), data=data,
                                 settings=None, symbol=symbols[0], symbols=symbols,
                                 env={"IBKR_PORT": str(tws.port)}))
    venue.bind(io.submit)
    return venue


def final(gateway: OrderGateway, client_ids: set[str],
          timeout: float = 10.0) -> dict[str, list[OrderUpdate]]:
    """Every update of ``client_ids`` until each is filled (bounded wait)."""
    seen: dict[str, list[OrderUpdate]] = {cid: [] for cid in client_ids}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(
            u and u[-1].status == "filled" for u in seen.values()):
        while not gateway.updates.empty():
            update = gateway.updates.get_nowait()
            if isinstance(update, OrderUpdate) and update.client_id in seen:
                seen[update.client_id].append(update)
        time.sleep(0.01)
    assert all(u and u[-1].status == "filled" for u in seen.values()), seen
    return seen


def test_one_connection_qualifies_a_contract_per_symbol(io, tws):
    venue = basket_venue(io, tws)
    try:
        run(io, venue.start())
        assert {s: c.conId for s, c in venue.contracts.items()} == {
            "AAPL": 265598, "SPY": 756733, "MSFT": 272093}
        assert venue.contract is venue.contracts["AAPL"]  # the first symbol's, as before
        assert venue.min_ticks == {"AAPL": 0.01, "SPY": 0.01, "MSFT": 0.01}
        assert sorted(venue.status()["contracts"]) == sorted(BASKET)
        assert tws.connections == 1
    finally:
        run(io, venue.close())


def test_a_symbol_ib_does_not_know_stops_the_start_naming_it(io, tws):
    venue = basket_venue(io, tws, ("AAPL", "NOPE"))
    try:
        with pytest.raises(ConfigError, match="knows no contract STK NOPE USD"):
            run(io, venue.start())
    finally:
        run(io, venue.close())


def test_a_basket_in_two_currencies_is_refused_at_start(io, tws):
    tws.add_contract(TwsContract(14204, "SAP", exchange="SMART", primary_exchange="IBIS",
                                 currency="EUR", valid_exchanges="SMART,IBIS"))
    venue = IbkrVenue(GatewayAddress("127.0.0.1", tws.port, 1), ContractSpec("AAPL"),
                      others=[ContractSpec("SAP", currency="EUR")])
    venue.bind(io.submit)
    try:
        with pytest.raises(ConfigError, match="share one currency; IB lists AAPL in USD, SAP "
                                              "in EUR"):
            run(io, OrderGateway(venue).start())
    finally:
        run(io, venue.close())


def test_the_account_is_read_per_contract_with_one_cash(io, tws):
    seed = basket_venue(io, tws)  # another program holds SPY and has a MSFT order working
    seeder = OrderGateway(seed)
    run(io, seeder.start())
    run(io, seeder.place(OrderIntent("other-spy", "BUY", "MKT", 7, symbol="SPY")))
    assert tws.wait_for(lambda: len(tws.orders()) == 1)
    tws.fill(ref="other-spy", price=400.0)
    mine = tagged("sl", "MSFT")
    run(io, seeder.place(OrderIntent(mine, "SELL", "STP", 3, price=300.0, symbol="MSFT")))
    assert tws.wait_for(lambda: len(tws.orders()) == 2)
    run(io, seed.close())
    venue = basket_venue(io, tws)
    gateway = OrderGateway(venue)
    try:
        accounts = run(io, gateway.start())
        assert list(accounts) == list(BASKET)
        assert [accounts[s].position for s in BASKET] == [0.0, 7.0, 0.0]
        assert accounts["SPY"].average_cost == pytest.approx(400.0 + 0.07 / 7)
        assert [a.cash for a in accounts.values()] == pytest.approx([tws.cash()] * 3)
        assert [[o.client_id for o in accounts[s].open_orders] for s in BASKET] == \
            [[], [], [mine]]
        found = run(io, gateway.report(mine))
        assert (found.side, found.kind, found.quantity, found.status) == \
            ("SELL", "STP", 3.0, "accepted")
    finally:
        run(io, venue.close())


def test_each_order_goes_to_its_symbols_contract_and_each_fill_to_its_order(io, tws):
    venue = basket_venue(io, tws)
    gateway = OrderGateway(venue)
    try:
        run(io, gateway.start())
        buys = {s: tagged("entry", s) for s in BASKET}
        sizes = {"AAPL": 10, "SPY": 5, "MSFT": 8}
        for symbol, cid in buys.items():
            run(io, gateway.place(OrderIntent(cid, "BUY", "MKT", sizes[symbol], symbol=symbol)))
        assert tws.wait_for(lambda: len(tws.orders()) == 3)
        assert {o.order_ref: o.spec.symbol for o in tws.orders()} == \
            {cid: s for s, cid in buys.items()}
        prices = {"AAPL": 150.0, "SPY": 400.0, "MSFT": 300.0}
        for symbol in reversed(BASKET):
            tws.fill(ref=buys[symbol], price=prices[symbol])
        updates = final(gateway, set(buys.values()))
        for symbol, cid in buys.items():
            (fill,) = [f for u in updates[cid] for f in u.fills]
            assert (fill.quantity, fill.price) == (sizes[symbol], prices[symbol])
            assert fill.fee == pytest.approx(0.01 * sizes[symbol])  # its commission report
        assert tws.positions() == {(tws.accounts[0], 265598): 10.0,
                                   (tws.accounts[0], 756733): 5.0,
                                   (tws.accounts[0], 272093): 8.0}
    finally:
        run(io, venue.close())

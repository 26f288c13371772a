"""The fake TWS speaks the real protocol: the real ib_async client connects, qualifies contracts,
gets bars with live updates, trades and reconnects against it."""
from __future__ import annotations

import time
from typing import Callable, Iterator

import pytest
from ib_async import IB, Forex, LimitOrder, MarketOrder, Stock, StopOrder

from fakes.tws import LIVE_ACCOUNT, FakeTWS
from trading.core.types import Bar

T0 = 1_700_000_040.0  # a minute boundary


def minute_bars(count: int, start: float = 100.0) -> list[Bar]:
    return [Bar(T0 + 60 * i, start + i, start + i + 1, start + i - 1, start + i + 0.5, 1000.0)
            for i in range(count)]


def until(ib: IB, predicate: Callable[[], object], timeout: float = 2.0) -> None:
    """Run ib's loop until ``predicate()`` is true (bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        try:
            ib.sleep(0.01)
        except ConnectionError:  # ib_async raises the socket's loss out of its loop once
            pass


@pytest.fixture
def connect(tws: FakeTWS) -> Iterator[Callable[..., IB]]:
    """Connected IB clients (disconnected at the end)."""
    made: list[IB] = []

    def make(client_id: int = 1, fake: FakeTWS | None = None, timeout: float = 2.0) -> IB:
        ib = IB()
        made.append(ib)
        ib.connect("127.0.0.1", (fake or tws).port, clientId=client_id, timeout=timeout)
        return ib

    yield make
    for ib in made:
        ib.disconnect()


def aapl(ib: IB) -> Stock:
    contract = Stock("AAPL", "SMART", "USD")
    ib.qualifyContracts(contract)
    return contract


# -- connecting ------------------------------------------------------------------------------
def test_connect_syncs_at_once_with_the_paper_account(tws, connect):
    errors: list[int] = []
    started = time.monotonic()
    ib = IB()
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    ib.connect("127.0.0.1", tws.port, clientId=7, timeout=2)
    try:
        assert time.monotonic() - started < 1.0
        assert ib.isConnected() and ib.client.serverVersion() == 176
        assert ib.managedAccounts() == ["DU1234567"]
        assert {v.tag for v in ib.accountValues()} >= {"NetLiquidation", "TotalCashValue"}
        until(ib, lambda: {2104, 2106, 2158} <= set(errors))
        assert tws.clients() == [7]
    finally:
        ib.disconnect()


def test_connect_to_a_live_account(connect):
    live = FakeTWS(accounts=[LIVE_ACCOUNT]).start()
    try:
        ib = connect(fake=live)
        assert ib.managedAccounts() == ["U7654321"]
        assert {v.account for v in ib.accountValues()} == {"U7654321"}
    finally:
        live.stop()


def test_a_client_id_in_use_gets_error_326_and_is_disconnected(tws, connect):
    connect(client_id=3)
    codes: list[int] = []
    second = IB()
    second.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    with pytest.raises((TimeoutError, ConnectionError)):
        second.connect("127.0.0.1", tws.port, clientId=3, timeout=0.5)
    assert 326 in codes
    assert tws.refused_client_ids == [3]
    assert tws.clients() == [3]


# -- contracts -------------------------------------------------------------------------------
def test_qualify_contracts_known_ambiguous_and_unknown(connect):
    ib = connect()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    stock, dual, nope, eur = (Stock("AAPL", "SMART", "USD"), Stock("DUAL", "SMART", "USD"),
                              Stock("NOPE", "SMART", "USD"), Forex("EURUSD"))
    assert ib.qualifyContracts(stock, dual, nope, eur) == [stock, None, None, eur]
    assert (stock.conId, stock.primaryExchange, stock.exchange) == (265598, "NASDAQ", "SMART")
    assert (eur.conId, eur.localSymbol, eur.exchange) == (12087792, "EUR.USD", "IDEALPRO")
    assert 200 in codes
    candidates = ib.reqContractDetails(Stock("DUAL", "SMART", "USD"))
    assert sorted(d.contract.conId for d in candidates) == [70001, 70002]
    details = ib.reqContractDetails(Stock("DUAL", "SMART", "USD", primaryExchange="NYSE"))
    assert [d.contract.conId for d in details] == [70001]
    assert details[0].minTick == 0.01 and details[0].longName.startswith("DUAL")


# -- market data -----------------------------------------------------------------------------
def test_historical_bars_then_updates_of_the_forming_and_next_bar(tws, connect):
    bars = minute_bars(6)
    tws.set_bars("AAPL", bars[:5], forming=bars[5])
    ib = connect()
    got = ib.reqHistoricalData(aapl(ib), "", "1 D", "1 min", "MIDPOINT", useRTH=False,
                               formatDate=2, keepUpToDate=True)
    assert [b.date.timestamp() for b in got] == [b.ts for b in bars]
    assert got[0].open == 100.0 and got[0].close == 100.5 and got[0].volume == 1000.0
    updates: list[bool] = []
    got.updateEvent += lambda bars_, has_new: updates.append(has_new)

    tws.update_forming("AAPL", 106.0, high=107.5)
    until(ib, lambda: got[-1].close == 106.0)
    assert got[-1].high == 107.5 and len(got) == 6
    tws.push_bar("AAPL", Bar(bars[5].ts, 105, 108, 104, 107.25, 2500))
    until(ib, lambda: len(got) == 7)
    assert (got[-2].high, got[-2].close, got[-2].volume) == (108, 107.25, 2500)
    assert got[-1].date.timestamp() == bars[5].ts + 60 and got[-1].open == 107.25
    assert updates[-1] is True

    request = tws.historical[-1]
    assert (request.what_to_show, request.bar_size, request.keep_up_to_date) == \
        ("MIDPOINT", "1 min", True)
    ib.cancelHistoricalData(got)
    assert tws.wait_for(lambda: tws.historical[-1].cancelled)


def test_historical_dates_as_text_for_format_date_1_and_an_end_time(tws, connect):
    tws.set_bars("AAPL", minute_bars(10))
    ib = connect()
    end = f"{time.strftime('%Y%m%d %H:%M:%S', time.gmtime(T0 + 300))} UTC"
    got = ib.reqHistoricalData(aapl(ib), end, "120 S", "1 min", "TRADES", useRTH=True,
                               formatDate=1)
    assert [b.date.timestamp() for b in got] == [T0 + 180, T0 + 240]
    assert tws.historical[-1].what_to_show == "TRADES"


def test_a_historical_request_can_fail(tws, connect):
    tws.set_bars("AAPL", minute_bars(3))
    tws.fail_next("historical", 162, "Historical Market Data Service error message:no data")
    ib = connect()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    assert list(ib.reqHistoricalData(aapl(ib), "", "1 D", "1 min", "TRADES", True, 2)) == []
    assert codes == [162]


# -- orders ----------------------------------------------------------------------------------
@pytest.fixture
def market(tws: FakeTWS) -> list[Bar]:
    """AAPL: five closed minute bars, the sixth forming (last price 105.5)."""
    bars = minute_bars(6)
    tws.set_bars("AAPL", bars[:5], forming=bars[5])
    return bars


def test_market_order_fills_at_the_last_price_with_commission_position_and_cash(tws, connect,
                                                                               market):
    ib = connect()
    trade = ib.placeOrder(aapl(ib), MarketOrder("BUY", 10, orderRef="bot-1"))
    until(ib, lambda: trade.isDone() and trade.fills and trade.fills[0].commissionReport.execId)
    assert (trade.orderStatus.status, trade.orderStatus.filled) == ("Filled", 10)
    assert trade.orderStatus.avgFillPrice == 105.5
    fill = ib.fills()[0]
    assert (fill.execution.orderRef, fill.execution.side, fill.execution.shares) == \
        ("bot-1", "BOT", 10)
    assert fill.execution.permId == trade.order.permId > 0
    assert (fill.commissionReport.commission, fill.commissionReport.currency) == (1.0, "USD")
    until(ib, lambda: ib.positions())
    assert [(p.contract.conId, p.position) for p in ib.positions()] == [(265598, 10)]
    until(ib, lambda: ib.portfolio())
    [cash] = [float(v.value) for v in ib.accountValues() if v.tag == "TotalCashValue"]
    assert cash == 100_000 - 1055 - 1.0
    placed = tws.orders()[0]
    assert (placed.order_type, placed.action, placed.quantity, placed.order_ref, placed.tif) == \
        ("MKT", "BUY", 10, "bot-1", "")


def test_market_order_fills_at_the_price_the_test_sets_in_two_parts(tws, connect, market):
    tws.set_fill_policy(market_price=104.0, parts=2)
    ib = connect()
    trade = ib.placeOrder(aapl(ib), MarketOrder("BUY", 10))
    until(ib, lambda: trade.isDone() and len(trade.fills) == 2)
    assert [(f.execution.shares, f.execution.cumQty) for f in trade.fills] == [(5, 5), (5, 10)]
    assert trade.orderStatus.avgFillPrice == 104.0
    until(ib, lambda: all(f.commissionReport.execId for f in trade.fills))
    assert sum(f.commissionReport.commission for f in trade.fills) == pytest.approx(1.0)


def test_partial_fill_on_the_tests_word_then_the_rest(tws, connect, market):
    tws.set_fill_policy(auto=False)
    ib = connect()
    trade = ib.placeOrder(aapl(ib), LimitOrder("BUY", 10, 100.0, orderRef="entry"))
    until(ib, lambda: trade.orderStatus.status == "Submitted")
    tws.fill(ref="entry", quantity=4, price=99.5)
    until(ib, lambda: trade.orderStatus.filled == 4)
    assert trade.orderStatus.status == "Submitted" and trade.orderStatus.remaining == 6
    tws.fill(trade.order.orderId, price=99.75)
    until(ib, lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.price for f in trade.fills] == [99.5, 99.75]
    assert trade.orderStatus.avgFillPrice == pytest.approx((4 * 99.5 + 6 * 99.75) / 10)


def test_limit_and_stop_fill_when_bars_cross_them_and_oca_cancels_the_other(tws, connect,
                                                                            market):
    ib = connect()
    contract = aapl(ib)
    entry = ib.placeOrder(contract, MarketOrder("BUY", 10))
    until(ib, entry.isDone)
    take = ib.placeOrder(contract, LimitOrder("SELL", 10, 110.0, ocaGroup="exit-1", ocaType=1,
                                              tif="GTC"))
    stop = ib.placeOrder(contract, StopOrder("SELL", 10, 103.0, ocaGroup="exit-1", ocaType=1,
                                             tif="GTC"))
    until(ib, lambda: take.orderStatus.status == "Submitted"
          and stop.orderStatus.status == "PreSubmitted")
    tws.update_forming("AAPL", 104.0)  # above the stop: nothing
    ib.sleep(0.05)
    assert not stop.fills
    tws.push_bar("AAPL", Bar(market[5].ts, 105.5, 106, 102.5, 103.5, 900))
    until(ib, lambda: stop.isDone() and take.isDone())
    assert (stop.orderStatus.status, stop.fills[0].execution.price) == ("Filled", 103.0)
    assert take.orderStatus.status == "Cancelled"
    until(ib, lambda: not ib.positions())
    recorded = {o.order_type: o for o in tws.orders()}
    assert (recorded["STP"].aux_price, recorded["LMT"].lmt_price) == (103.0, 110.0)
    assert recorded["LMT"].oca_group == "exit-1" and recorded["LMT"].tif == "GTC"


def test_cancel_and_reject(tws, connect, market):
    ib = connect()
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    contract = aapl(ib)
    resting = ib.placeOrder(contract, LimitOrder("BUY", 5, 50.0))
    until(ib, lambda: resting.orderStatus.status == "Submitted")
    ib.cancelOrder(resting.order)
    until(ib, lambda: resting.orderStatus.status == "Cancelled")
    assert (resting.order.orderId, 202) in errors

    tws.reject_next("Insufficient buying power")
    rejected = ib.placeOrder(contract, MarketOrder("BUY", 5))
    until(ib, rejected.isDone)
    assert rejected.orderStatus.status == "Cancelled" and not rejected.fills
    assert (rejected.order.orderId, 201) in errors
    assert "Insufficient buying power" in rejected.log[-2].message


def test_a_new_client_sees_orders_fills_and_positions_made_before(tws, connect, market):
    first = connect(client_id=5)
    contract = aapl(first)
    bought = first.placeOrder(contract, MarketOrder("BUY", 10, orderRef="b1"))
    until(first, bought.isDone)
    resting = first.placeOrder(contract, LimitOrder("SELL", 10, 130.0, orderRef="tp1"))
    until(first, lambda: resting.orderStatus.status == "Submitted")
    first.disconnect()
    assert tws.wait_for(lambda: tws.clients() == [])

    again = connect(client_id=5)
    [open_trade] = again.openTrades()
    assert (open_trade.order.orderRef, open_trade.order.orderId, open_trade.order.lmtPrice) == \
        ("tp1", resting.order.orderId, 130.0)
    assert [(p.contract.conId, p.position) for p in again.positions()] == [(265598, 10)]
    [fill] = again.fills()
    assert (fill.execution.orderRef, fill.commissionReport.commission) == ("b1", 1.0)
    completed = again.reqCompletedOrders(apiOnly=True)
    assert [(t.order.orderRef, t.orderStatus.status) for t in completed] == [("b1", "Filled")]
    assert [f.execution.orderRef for f in again.reqExecutions()] == ["b1"]
    assert [t.order.orderRef for t in again.reqAllOpenOrders()] == ["tp1"]
    # the order is still live: this client can cancel it
    again.cancelOrder(open_trade.order)
    until(again, lambda: open_trade.orderStatus.status == "Cancelled")


# -- faults ----------------------------------------------------------------------------------
def test_a_dropped_connection_is_seen_by_the_client(tws, connect):
    ib = connect()
    dropped: list[bool] = []
    ib.disconnectedEvent += lambda: dropped.append(True)
    tws.drop_connections()
    until(ib, lambda: dropped)
    assert not ib.isConnected()


def test_connectivity_lost_and_restored_errors(tws, connect):
    ib = connect()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    tws.connectivity_lost()
    until(ib, lambda: 1100 in codes)
    tws.connectivity_restored()
    until(ib, lambda: 1102 in codes)
    tws.connectivity_restored(data_lost=True)
    until(ib, lambda: 1101 in codes)
    assert ib.isConnected()


def test_refused_connections_then_accepted_again(tws, connect):
    tws.refuse_connections()
    with pytest.raises(ConnectionRefusedError):
        IB().connect("127.0.0.1", tws.port, clientId=9, timeout=1)
    tws.accept_connections()
    assert connect(client_id=9).isConnected()
    tws.refuse_connections(seconds=0.2)
    time.sleep(0.4)
    assert connect(client_id=10).isConnected()

"""The fake TWS speaks the real protocol: the real ib_async client connects, qualifies contracts,
gets bars with live updates, trades and reconnects against it."""
from __future__ import annotations

import time
from datetime import timezone
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


@pytest.fixture(autouse=True)
def decoded_cleanly(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every message the fake sent was decoded: ib_async logs (and drops) one it cannot read."""
    yield
    bad = [r.getMessage()[:200] for r in caplog.records if r.name == "ib_async.Decoder"]
    assert not bad


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
        assert tws.unhandled == []  # every start-up request was answered
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


def test_dates_and_fill_times_in_the_time_zone_of_tws(connect):
    eastern = FakeTWS(tz="US/Eastern").start()
    try:
        eastern.set_bars("AAPL", minute_bars(3))
        ib = connect(fake=eastern)
        got = ib.reqHistoricalData(aapl(ib), "", "1 D", "1 min", "TRADES", True, formatDate=1)
        assert [b.date.timestamp() for b in got] == [T0, T0 + 60, T0 + 120]
        assert str(got[0].date.tzinfo) == "US/Eastern"
        trade = ib.placeOrder(aapl(ib), MarketOrder("BUY", 1))
        until(ib, lambda: trade.fills)
        assert abs(trade.fills[0].execution.time.timestamp() - time.time()) < 5
    finally:
        eastern.stop()


def test_a_request_the_fake_cannot_read_is_error_321_and_the_session_lives_on(tws, connect):
    tws.set_bars("AAPL", minute_bars(3))
    ib = connect()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    ib.client.reqHistoricalData(99, aapl(ib), "not a time", "1 D", "1 min", "TRADES", 1, 2,
                                False, [])
    until(ib, lambda: 321 in codes)
    assert len(tws.failures) == 1 and ib.isConnected()
    assert len(ib.reqHistoricalData(aapl(ib), "", "1 D", "1 min", "TRADES", True, 2)) == 3


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


def test_oca_type_2_reduces_the_other_orders_by_the_shares_filled(tws, connect, market):
    tws.set_fill_policy(auto=False)
    ib = connect()
    contract = aapl(ib)
    take = ib.placeOrder(contract, LimitOrder("SELL", 10, 110.0, ocaGroup="x", ocaType=2))
    stop = ib.placeOrder(contract, StopOrder("SELL", 10, 100.0, ocaGroup="x", ocaType=2))
    until(ib, lambda: stop.orderStatus.status == "PreSubmitted")
    tws.fill(take.order.orderId, quantity=4, price=110.0)
    until(ib, lambda: stop.orderStatus.remaining == 6)
    assert stop.order.totalQuantity == 6 and stop.orderStatus.status == "PreSubmitted"
    tws.fill(take.order.orderId, price=110.0)
    until(ib, lambda: stop.orderStatus.status == "Cancelled")
    assert take.orderStatus.status == "Filled"


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
    ib.client.cancelOrder(resting.order.orderId)  # again: it is done
    until(ib, lambda: (resting.order.orderId, 10148) in errors)

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
    assert [t.order.orderRef for t in again.reqOpenOrders()] == ["tp1"]
    assert [t.order.orderRef for t in again.reqAllOpenOrders()] == ["tp1"]
    # the order is still live: this client can cancel it
    again.cancelOrder(open_trade.order)
    until(again, lambda: open_trade.orderStatus.status == "Cancelled")


def test_reusing_the_id_of_a_done_order_is_error_103(tws, connect, market):
    first = connect(client_id=4)
    done = first.placeOrder(aapl(first), MarketOrder("BUY", 1))
    until(first, done.isDone)
    first.disconnect()
    again = connect(client_id=4)
    codes: list[tuple[int, int]] = []
    again.errorEvent += lambda req_id, code, text, contract: codes.append((req_id, code))
    clash = again.placeOrder(aapl(again), MarketOrder("BUY", 1, orderId=done.order.orderId))
    until(again, clash.isDone)
    assert (done.order.orderId, 103) in codes and clash.orderStatus.status == "Cancelled"
    assert len(tws.orders()) == 1


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


def test_a_tws_that_never_answers_the_greeting_times_the_connect_out(tws, connect):
    tws.hold_handshakes = True
    with pytest.raises(TimeoutError):
        IB().connect("127.0.0.1", tws.port, clientId=2, timeout=0.3)
    tws.hold_handshakes = False
    assert connect(client_id=2).isConnected()


def test_refused_connections_then_accepted_again(tws, connect):
    tws.refuse_connections()
    with pytest.raises(ConnectionRefusedError):
        IB().connect("127.0.0.1", tws.port, clientId=9, timeout=1)
    tws.accept_connections()
    assert connect(client_id=9).isConnected()
    tws.refuse_connections(seconds=0.2)
    time.sleep(0.4)
    assert connect(client_id=10).isConnected()


def test_a_modified_order_and_a_child_that_waits_for_its_parent(tws, connect, market):
    tws.set_fill_policy(auto=False)
    ib = connect()
    contract = aapl(ib)
    parent = ib.placeOrder(contract, LimitOrder("BUY", 10, 100.0, orderRef="p", transmit=False))
    child = ib.placeOrder(contract, StopOrder("SELL", 10, 95.0, orderRef="c",
                                              parentId=parent.order.orderId))
    until(ib, lambda: child.orderStatus.status == "PreSubmitted"
          and parent.orderStatus.status == "Submitted")
    parent.order.lmtPrice = 101.0
    ib.placeOrder(contract, parent.order)
    assert tws.wait_for(lambda: tws.orders()[0].lmt_price == 101.0)
    tws.set_fill_policy(auto=True)
    tws.update_forming("AAPL", 100.5, low=100.25)  # crosses the new limit, not the stop
    until(ib, lambda: parent.orderStatus.status == "Filled")
    assert parent.fills[0].execution.price == 101.0 and not child.fills
    tws.update_forming("AAPL", 94.0)
    until(ib, lambda: child.orderStatus.status == "Filled")
    assert child.fills[0].execution.price == 95.0


def test_real_time_bars_reach_subscribers_until_data_is_lost(tws, connect, market):
    ib = connect()
    bars = ib.reqRealTimeBars(aapl(ib), 5, "TRADES", useRTH=False)
    assert tws.wait_for(lambda: len(tws.realtime) == 1)
    tws.push_realtime_bar("AAPL", Bar(T0 + 400, 105.5, 106.0, 105.0, 105.75, 300))
    until(ib, lambda: len(bars) == 1)
    assert (bars[0].open_, bars[0].close, bars[0].volume) == (105.5, 105.75, 300)
    assert bars[0].time.timestamp() == T0 + 400
    tws.connectivity_restored(data_lost=True)
    tws.push_realtime_bar("AAPL", Bar(T0 + 405, 105.75, 106.0, 105.5, 106.0, 100))
    ib.sleep(0.05)
    assert len(bars) == 1


def test_quotes_streamed_and_as_a_snapshot(tws, connect, market):
    ib = connect()
    contract = aapl(ib)
    [snapshot] = ib.reqTickers(contract)
    assert (snapshot.bid, snapshot.ask, snapshot.last) == (105.49, 105.51, 105.5)
    ticker = ib.reqMktData(contract)
    tws.update_forming("AAPL", 106.25)
    until(ib, lambda: ticker.last == 106.25)
    ib.cancelMktData(contract)
    assert tws.wait_for(lambda: tws.quotes[-1].cancelled)


def test_fx_order_pays_fx_commission(tws, connect):
    tws.set_bars("EUR.USD", [Bar(T0, 1.08, 1.081, 1.079, 1.0805, 0)])
    ib = connect()
    eur = Forex("EURUSD")
    ib.qualifyContracts(eur)
    trade = ib.placeOrder(eur, MarketOrder("BUY", 20000))
    until(ib, lambda: trade.fills and trade.fills[0].commissionReport.execId)
    assert trade.fills[0].execution.price == 1.0805
    assert trade.fills[0].commissionReport.commission == 2.0
    until(ib, lambda: ib.positions())
    assert ib.positions()[0].contract.localSymbol == "EUR.USD"


# -- the wire --------------------------------------------------------------------------------
class _Capture:
    """A stand-in for ib_async's wrapper that keeps what its decoder hands over."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.ib = IB()  # execDetails reads ib.TimezoneTWS
        self.defaultTimezone = timezone.utc

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append((name, args))


def _decoded(fields: list[object]) -> list[tuple[str, tuple]]:
    from ib_async.decoder import Decoder

    from fakes.tws.codec import encode, split_fields

    capture = _Capture()
    Decoder(capture, 176).interpret(split_fields(encode(*fields)[4:]))
    return capture.calls


def test_order_messages_have_exactly_the_fields_ib_async_reads_at_version_176(tws, caplog):
    """Decoding succeeds with every field in place (the last ones parse as the values sent) and
    fails with one field fewer: the layout is exact, not just long enough."""
    from fakes.tws import order_wire as wire
    from fakes.tws.orders import OrderRecord

    order = OrderRecord(order_id=12, client_id=3, perm_id=99, account="DU1", spec=tws.spec("AAPL"),
                        exchange="SMART", action="SELL", quantity=7, order_type="STP",
                        lmt_price=None, aux_price=95.5, tif="GTC", oca_group="g", oca_type=1,
                        order_ref="ref-1", parent_id=11, status="PreSubmitted")
    tws.book.orders[99] = order
    ex = tws.book.execute(order, 7, 95.25)
    for fields, method in ((wire.open_order_fields(order, 176), "openOrder"),
                           (wire.completed_order_fields(order, 176, "UTC"), "completedOrder"),
                           (wire.exec_details_fields(-1, ex, "UTC"), "execDetails"),
                           (wire.commission_fields(ex), "commissionReport"),
                           (wire.position_fields(tws.book.positions[("DU1", 265598)]), "position"),
                           (wire.order_status_fields(order), "orderStatus")):
        [(name, args)] = _decoded(fields)
        assert name == method
        if method != "orderStatus":  # read by position, it takes what is there
            assert _decoded(fields[:-1]) == [], method
    [(_, (order_id, contract, o, state))] = _decoded(wire.open_order_fields(order, 176))
    assert (order_id, contract.conId, o.orderRef, o.permId, o.clientId, o.parentId) == \
        (12, 265598, "ref-1", 99, 3, 11)
    assert (o.auxPrice, o.ocaGroup, o.ocaType, o.tif, state.status) == (95.5, "g", 1, "GTC", "Filled")
    assert (o.minTradeQty, o.midOffsetAtHalf) == (2**31 - 1, 1.7976931348623157e308)
    [(_, (contract, o, state))] = _decoded(wire.completed_order_fields(order, 176, "UTC"))
    assert (o.permId, o.orderRef, o.filledQuantity, state.status, state.completedStatus) == \
        (99, "ref-1", 7, "Filled", "Filled")
    [(_, (req_id, contract, execution))] = _decoded(wire.exec_details_fields(-1, ex, "UTC"))
    assert (execution.orderRef, execution.shares, execution.price, execution.lastLiquidity) == \
        ("ref-1", 7, 95.25, 1)
    caplog.clear()  # the shortened messages were meant to fail

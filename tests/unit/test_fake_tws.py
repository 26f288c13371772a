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
        ib.sleep(0.01)


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

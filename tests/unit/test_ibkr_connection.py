"""The IB connection and order gateway with the real ib_async client against the loopback TWS:
farm messages are not errors, an unreachable TWS is a clear error, a dropped connection comes
back by itself, and orders: fills with IB's fees, partial fills, rejections with IB's words, an
order found by its orderRef after a restart instead of being placed again."""
from __future__ import annotations

import logging
import socket
import time
from typing import Iterator

import pytest

from fakes.tws import FakeTWS
from trading.core.errors import VenueError
from trading.core.types import Bar
from trading.runtime.io_thread import IOThread
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.contracts import ContractSpec
from trading.core.reports import OrderUpdate
from trading.venues.ibkr.order_types import OrderIntent
from trading.venues.ibkr.orders import OrderGateway
from trading.venues.ibkr.settings import GatewayAddress

T0 = 1_700_000_100.0


@pytest.fixture
def io() -> Iterator[IOThread]:
    thread = IOThread(name="ibkr-test-io")
    thread.start()
    yield thread
    thread.stop(timeout=5)


@pytest.fixture
def tws() -> Iterator[FakeTWS]:
    fake = FakeTWS().start()
    fake.set_bars("AAPL", [Bar(T0 + 300 * i, 100, 101, 99, 100, 10) for i in range(10)])
    yield fake
    fake.stop()


def venue_on(io: IOThread, port: int, **options) -> IbkrVenue:
    venue = IbkrVenue(GatewayAddress("127.0.0.1", port, 1), ContractSpec("AAPL"), **options)
    venue.bind(io.submit)
    return venue


def run(io: IOThread, coro, timeout: float = 10.0):
    return io.submit(coro, name="test").result(timeout)


def updates_of(gateway: OrderGateway, client_id: str, until: str,
               timeout: float = 5.0) -> list[OrderUpdate]:
    seen: list[OrderUpdate] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while not gateway.updates.empty():
            update = gateway.updates.get_nowait()
            if update.client_id == client_id:
                seen.append(update)
        if seen and seen[-1].status == until:
            return seen
        time.sleep(0.01)
    raise AssertionError(f"no '{until}' update for {client_id}: {seen}")


def test_farm_status_messages_are_logged_as_information_not_errors(io, tws, caplog):
    venue = venue_on(io, tws.port)
    with caplog.at_level(logging.INFO):
        run(io, venue.start())
        run(io, venue.close())
    farm = [r for r in caplog.records if "data farm connection is OK" in r.getMessage()]
    assert farm and all(r.levelno == logging.INFO for r in farm)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert venue.account == "DU1234567" and venue.paper
    assert venue.contract.conId == 265598


def test_an_unreachable_tws_is_a_clear_error_naming_where_it_was_looked_for(io):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    venue = venue_on(io, port, max_attempts=2, connect_timeout=1.0)
    with pytest.raises(VenueError) as err:
        run(io, venue.start(), timeout=30)
    message = str(err.value)
    assert f"cannot reach TWS / IB Gateway at 127.0.0.1:{port} after 2 attempts" in message
    assert "API socket enabled" in message


def test_a_dropped_connection_comes_back_by_itself_and_says_so(io, tws):
    venue = venue_on(io, tws.port, backoff_cap=0.5)
    heard: list[str] = []
    venue.add_listener(heard.append)
    run(io, venue.start())
    tws.drop_connections()
    assert tws.wait_for(lambda: heard == ["lost", "restored"], timeout=10), heard
    assert venue.ready and venue.counters["drops"] == 1
    tws.connectivity_lost()
    assert tws.wait_for(lambda: heard[-1] == "lost" and not venue.ready, timeout=5)
    tws.connectivity_restored()
    assert tws.wait_for(lambda: heard[-1] == "restored" and venue.ready, timeout=5)
    run(io, venue.close())


def test_after_1100_without_1101_or_1102_the_bot_connects_again(io, tws, caplog):
    venue = venue_on(io, tws.port, backoff_cap=0.5, link_grace=0.3)
    heard: list[str] = []
    venue.add_listener(heard.append)
    run(io, venue.start())
    tws.connectivity_lost()  # and TWS says nothing more
    assert tws.wait_for(lambda: heard == ["lost", "restored"] and venue.ready, timeout=10), heard
    assert venue.counters["drops"] == 1 and tws.connections == 2
    assert "did not report its link to IB back (1101/1102) within 0.3s" in caplog.text
    run(io, venue.close())


def test_fills_carry_ibs_fees_and_partial_fills_come_as_they_happen(io, tws):
    tws.set_fill_policy(parts=2, per_share=0.01, minimum=0.0)
    venue = venue_on(io, tws.port)
    gateway = OrderGateway(venue)
    account = run(io, gateway.start())["AAPL"]
    assert account.cash == pytest.approx(tws.cash())
    run(io, gateway.place(OrderIntent("t-buy", "BUY", "MKT", 10)))
    seen = updates_of(gateway, "t-buy", "filled")
    fills = [f for u in seen for f in u.fills]
    assert [u.status for u in seen] == ["accepted", "partial", "filled"]
    assert sum(f.quantity for f in fills) == 10 and len(fills) == 2
    assert sum(f.fee for f in fills) == pytest.approx(0.10)  # IB's commission reports
    run(io, venue.close())


def test_a_rejection_carries_ibs_message_and_code(io, tws):
    venue = venue_on(io, tws.port)
    gateway = OrderGateway(venue)
    run(io, gateway.start())
    tws.reject_next("Insufficient buying power", code=201)
    run(io, gateway.place(OrderIntent("t-rej", "BUY", "MKT", 10)))
    update = updates_of(gateway, "t-rej", "rejected")[-1]
    assert "Insufficient buying power" in update.message and "201" in update.message
    run(io, venue.close())


def test_after_a_restart_an_order_is_found_by_its_order_ref_and_not_placed_again(io, tws):
    tws.set_fill_policy(auto=False)
    first = venue_on(io, tws.port)
    gateway = OrderGateway(first)
    run(io, gateway.start())
    run(io, gateway.place(OrderIntent("t-stop", "SELL", "STP", 5, price=90.0)))
    updates_of(gateway, "t-stop", "accepted")
    run(io, first.close())
    again = venue_on(io, tws.port)  # a new process: nothing remembered but what IB says
    gateway = OrderGateway(again)
    account = run(io, gateway.start())["AAPL"]
    assert [o.client_id for o in account.open_orders] == ["t-stop"]
    run(io, gateway.place(OrderIntent("t-stop", "SELL", "STP", 5, price=90.0)))
    assert updates_of(gateway, "t-stop", "accepted")
    assert [o.order_ref for o in tws.orders()] == ["t-stop"]  # once
    tws.fill(ref="t-stop", price=90.0)
    fill = updates_of(gateway, "t-stop", "filled")[-1].fills
    assert [(f.quantity, f.price) for f in fill] == [(5.0, 90.0)]
    run(io, again.close())


def test_forex_bars_are_midpoints_and_a_forming_bar_is_never_delivered(io):
    from trading.venues.ibkr.source import IbkrBarSource
    from feeds.live import BarSink

    fake = FakeTWS().start()
    try:
        bars = [Bar(T0 + 300 * i, 1.08, 1.09, 1.07, 1.085, 0) for i in range(12)]
        fake.set_bars(12087792, bars[:10], forming=bars[10])
        venue = IbkrVenue(GatewayAddress("127.0.0.1", fake.port, 1),
                          ContractSpec("EURUSD", sec_type="CASH"))
        venue.bind(io.submit)
        source = IbkrBarSource(venue, 300, lookback_bars=5, retry_interval=1)
        sink = BarSink()
        task = io.submit(source.run(sink), name="fx bars")
        got: list = []
        deadline = time.monotonic() + 5
        while len(got) < 5 + 2 and time.monotonic() < deadline:  # DELAYED + 5 history + LIVE
            got.append(sink.queue.get(timeout=5))
        fake.push_bar(12087792, bars[10])
        got.append(sink.queue.get(timeout=5))
        task.cancel()
        run(io, venue.close())
        request = fake.historical[0]
    finally:
        fake.stop()
    assert (request.what_to_show, request.bar_size, request.keep_up_to_date) == \
        ("MIDPOINT", "5 mins", True)
    delivered = [item[1] for item in got if item[0] == 0]
    assert [b.ts for b in delivered] == [b.ts for b in bars[5:11]]  # 5 history, then the one
    # closed by the push; bars[11], forming now, is not there

"""A loopback TWS / IB Gateway for tests, speaking the real TWS socket protocol (server version
176) to the real ib_async client.

Start and connect::

    from fakes.tws import FakeTWS, LIVE_ACCOUNT
    tws = FakeTWS().start()                     # or the ``tws`` fixture (tests/conftest.py)
    ib = IB(); ib.connect("127.0.0.1", tws.port, clientId=1, timeout=2)
    ...
    tws.stop()

``FakeTWS(accounts=("DU1234567",), contracts=DEFAULT_CONTRACTS, cash=100_000.0, tz="UTC",
farm_messages=True)``: ``accounts=[LIVE_ACCOUNT]`` ("U7654321") for a live account. On connect
the fake answers the handshake, startApi (managedAccounts, nextValidId, then the 2104/2106/2158
farm-status errors with reqId -1) and every start-up request of ``IB.connect``. A second client
with a client id in use gets error 326 and is disconnected. All state (orders, executions,
positions, cash, bars) lives in the server, so a reconnecting client or a new ``IB`` sees it.

Contracts (``fakes.tws.contracts``): ``DEFAULT_CONTRACTS`` holds STK AAPL (SMART, NASDAQ, USD,
conId 265598), SPY (756733), DUAL (two listings, 70001 NYSE / 70002 NASDAQ: ambiguous without a
primary exchange), CASH EUR.USD on IDEALPRO (12087792). Unknown -> error 200. Add one with
``tws.add_contract(ContractSpec(con_id, symbol, ...))``.

Market data (``symbol`` is a symbol, local symbol or conId)::

    tws.set_bars("AAPL", bars, forming=None, step=None)  # closed bars (trading.core.types.Bar,
                                                          # ts = open time, epoch s), forming bar
    tws.update_forming("AAPL", close, high=None, low=None, volume=None, ts=None)
    tws.push_bar("AAPL", bar, open_next=True)             # close a bar, start the next
    bars_from_csv(path)                                   # bars of a CSV the project reads

reqHistoricalData answers the bars in [end - duration, end) (plus the forming bar when end is
"now"), dates as epoch seconds for formatDate 2, else "yyyymmdd hh:mm:ss <tz>" ("yyyymmdd" for
daily bars). keepUpToDate subscriptions get a historicalDataUpdate for every ``update_forming``
and ``push_bar`` (the pushed bar, then the new forming bar) until cancelHistoricalData.
``tws.historical`` lists the requests (``what_to_show``, ``bar_size``, ``format_date``,
``keep_up_to_date``, ``cancelled`` ...). reqRealTimeBars subscribers (``tws.realtime``) get the
bars of ``tws.push_realtime_bar("AAPL", bar)`` (5-second bars; working orders fill from them too).
The fake serves the bars it was given: it does not resample to the requested bar size. Each
contract has its own bars and subscribers: one client may keep several contracts' history up to
date at once (a basket), each request getting only its contract's updates.
reqMktData (streaming or snapshot, e.g. ``ib.reqTickers``) gets bid/ask/last ticks around the
last price (bid/ask one min tick away), again on every bar update.

Orders: placeOrder -> openOrder + orderStatus (Submitted; PreSubmitted for stops and for child
orders until the parent fills); a modify (same order id) -> openOrder + orderStatus; the id of an
order that is done -> error 103. ``tws.set_fill_policy(auto=True, parts=1, market_price=None,
per_share=0.005, minimum=1.0)``: with ``auto`` a market order fills at once (at
``market_price``, else the last price; with no price at all it waits), limits and stops fill
when marketable or when ``update_forming`` / ``push_bar`` / ``push_realtime_bar`` crosses them
(a gap fills at the open); ``parts=2`` gives two executions per fill; ``tws.fill_delay = 0.2``
delays automatic fills on placement. Without ``auto`` the test fills:
``tws.fill(order_id | ref=..., quantity=None, price=None, parts=None)``. Commission: per share
with a minimum per order (FX: 0.2 bp, at least 2). A fill sends execDetails, openOrder (when
filled), orderStatus, commissionReport, then position / updatePortfolio / account values to their
subscribers; an OCA group's other orders are cancelled (ocaType 2 and 3: reduced by the shares
filled); children of a filled parent start working (a cancelled parent cancels them).
cancelOrder -> orderStatus Cancelled + error 202 (10147 for an unknown id, 10148 for an order
that is done). ``tws.reject_next(reason, code=201, status="Cancelled")`` rejects the next new
order (error on its order id, then orderStatus ``status``; "Inactive" is the other TWS answer).
``tws.cancel(order_id | ref=...)``: TWS cancels an order by itself. reqOpenOrders (the client's
own; client 0 sees all) / reqAllOpenOrders, reqCompletedOrders, reqExecutions (with commission
reports), reqPositions, reqAccountUpdates(+Multi) and reqAccountSummary reflect the state. Read
it with ``tws.orders()``, ``tws.executions()``, ``tws.positions()``, ``tws.cash()``.

Faults: ``tws.drop_connections()`` closes every client socket; ``tws.connectivity_lost()``
(1100), ``tws.connectivity_restored(data_lost=False)`` (1102; 1101 with ``data_lost``, which
also ends keepUpToDate and real-time bar subscriptions); ``tws.send_error(code, text, req_id=-1)``;
``tws.refuse_connections(seconds=None)`` / ``tws.accept_connections()`` (stop / resume
listening on the same port); ``tws.hold_handshakes = True`` (connections are accepted but the
greeting is not answered, like a TWS stuck at its login: the client's connect times out);
``tws.fail_next("historical" | "contract_details", code, text)``.

For assertions: ``tws.requests(msg_id)`` (fields as received), ``tws.unhandled`` (requests the
fake does not serve, e.g. scanners), ``tws.failures`` (requests it could not read; the client got
error 321), ``tws.clients()``, ``tws.refused_client_ids``, ``tws.connections``,
``tws.wait_for(predicate, timeout)``.

Not modelled: combo (BAG) and algo orders, ``transmit=False`` holding (orders are transmitted at
once), what-if orders, trailing stops, options and futures, scanners and news, order updates to
clients other than the owner and a client 0, margin checks (reject with ``reject_next``).
"""
from fakes.tws.contracts import DEFAULT_CONTRACTS, ContractSpec
from fakes.tws.market import bars_from_csv
from fakes.tws.orders import FillPolicy
from fakes.tws.server import LIVE_ACCOUNT, PAPER_ACCOUNT, SERVER_VERSION, FakeTWS

__all__ = ["DEFAULT_CONTRACTS", "ContractSpec", "FakeTWS", "FillPolicy", "LIVE_ACCOUNT",
           "PAPER_ACCOUNT", "SERVER_VERSION", "bars_from_csv"]

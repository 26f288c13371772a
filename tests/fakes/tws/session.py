"""One client connection: the handshake, startApi, and the requests a client sends, answered
from the server's state. Everything here runs on the fake's event loop thread."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from fakes.tws import order_wire as wire
from fakes.tws.codec import (ProtocolError, encode, read_greeting, read_message, to_bool, to_int,
                             tws_time)
from fakes.tws.contracts import NO_SECURITY, ContractRequest, details_fields, request_exchange
from fakes.tws.market import (HistoricalRequest, QuoteRequest, RealtimeRequest,
                              duration_seconds, historical_fields, parse_end)

if TYPE_CHECKING:
    from fakes.tws.server import FakeTWS

log = logging.getLogger(__name__)
GREETING_TIMEOUT = 5.0
CLIENT_ID_IN_USE = (326, "Unable to connect as the client id is already in use. "
                         "Retry with a unique client id.")
FARM_MESSAGES = ((2104, "Market data farm connection is OK:usfarm"),
                 (2106, "HMDS data farm connection is OK:ushmds"),
                 (2158, "Sec-def data farm connection is OK:secdefnj"))


class Session:
    """A connected client. ``client_id`` is None until startApi arrives."""

    def __init__(self, server: "FakeTWS", reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.client_id: int | None = None
        self.version = 0
        self.wants_positions = False
        self.account_updates: str | None = None  # the account reqAccountUpdates subscribed to
        self.multi: dict[int, str] = {}  # reqAccountUpdatesMulti reqId -> account ("" = all)
        self.closed = False
        self.handlers: dict[int, Callable[[list[str]], None]] = {
            71: self.start_api, 61: self.req_positions, 64: self.cancel_positions,
            5: self.req_open_orders, 16: self.req_all_open_orders, 99: self.req_completed_orders,
            6: self.req_account_updates, 76: self.req_account_updates_multi,
            77: self.cancel_account_updates_multi, 7: self.req_executions, 8: self.req_ids,
            9: self.req_contract_details, 20: self.req_historical_data,
            25: self.cancel_historical_data, 50: self.req_realtime_bars,
            51: self.cancel_realtime_bars, 49: self.req_current_time,
            17: self.req_managed_accounts, 62: self.req_account_summary,
            3: self.place_order, 4: self.cancel_order, 58: self.global_cancel,
            1: self.req_mkt_data, 2: self.cancel_mkt_data,
            15: self.ignore, 59: self.ignore,  # reqAutoOpenOrders, reqMarketDataType: settings
        }

    # -- the wire ----------------------------------------------------------------------------
    def send(self, *fields: object) -> None:
        if not self.closed and not self.writer.is_closing():
            self.writer.write(encode(*fields))

    def error(self, req_id: int, code: int, text: str) -> None:
        """error (4): version 2, reqId, code, text, and (server 166+) the advanced reject JSON."""
        fields: list[object] = [4, 2, req_id, code, text]
        if self.version >= 166:
            fields.append("")
        self.send(*fields)

    def close(self) -> None:
        self.closed = True
        if not self.writer.is_closing():
            self.writer.close()

    async def run(self) -> None:
        try:
            low, high, _ = await asyncio.wait_for(read_greeting(self.reader), GREETING_TIMEOUT)
            while self.server.hold_handshakes and not self.closed and not self.reader.at_eof():
                await asyncio.sleep(0.01)  # a TWS stuck at its login: silent until released
            self.version = min(self.server.server_version, high)
            if self.version < low:
                raise ProtocolError(f"client wants {low}..{high}, fake speaks "
                                    f"{self.server.server_version}")
            self.writer.write(encode(self.version, tws_time(datetime.now(timezone.utc),
                                                             self.server.tz)))
            while not self.closed:
                fields = await read_message(self.reader)
                if fields:
                    self.dispatch(fields)
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError,
                asyncio.TimeoutError) as exc:
            log.debug("fake TWS session %s ends: %r", self.client_id, exc)
        finally:
            self.close()
            self.server.forget(self)

    def dispatch(self, fields: list[str]) -> None:
        msg_id = to_int(fields[0])
        self.server.record(self.client_id, fields)
        handler = self.handlers.get(msg_id)
        if handler is None:
            self.server.unhandled.append((self.client_id, fields))
            return
        if self.client_id is None and msg_id != 71:
            return  # TWS ignores requests before startApi
        try:
            handler(fields)
        except Exception as exc:  # a request the fake cannot read: say so, as TWS does (321)
            log.exception("fake TWS could not handle %s", fields)
            self.server.failures.append((fields, repr(exc)))
            self.error(-1, 321, f"Error validating request:-'{exc}'")

    # -- start-up ----------------------------------------------------------------------------
    def start_api(self, fields: list[str]) -> None:
        client_id = to_int(fields[2])
        if not self.server.admit(self, client_id):
            self.error(-1, *CLIENT_ID_IN_USE)
            self.close()
            return
        self.client_id = client_id
        self.send(15, 1, ",".join(self.server.accounts))
        self.send(9, 1, self.server.next_valid_id())
        if self.server.farm_messages:
            for code, text in FARM_MESSAGES:
                self.error(-1, code, text)

    def req_ids(self, fields: list[str]) -> None:
        self.send(9, 1, self.server.next_valid_id())

    def req_managed_accounts(self, fields: list[str]) -> None:
        self.send(15, 1, ",".join(self.server.accounts))

    def req_current_time(self, fields: list[str]) -> None:
        self.send(49, 1, int(time.time()))

    # -- positions and the account -----------------------------------------------------------
    def req_positions(self, fields: list[str]) -> None:
        self.wants_positions = True
        for pos in self.server.book.account_positions():
            self.send(*wire.position_fields(pos))
        self.send(62, 1)

    def cancel_positions(self, fields: list[str]) -> None:
        self.wants_positions = False

    def req_account_updates(self, fields: list[str]) -> None:
        subscribe, account = to_bool(fields[2]), fields[3] or self.server.accounts[0]
        if not subscribe:
            self.account_updates = None
            return
        self.account_updates = account
        self.send_account(account)
        self.send(54, 1, account)

    def send_account(self, account: str) -> None:
        """Account values, the portfolio and the account time, as a subscription sends them."""
        server = self.server
        prices = server.prices()
        for tag, value, currency in server.book.account_values(account, prices):
            self.send(6, 2, tag, value, currency, account)
        for pos in server.book.account_positions(account):
            price = prices.get(pos.spec.con_id, 0.0)
            self.send(*wire.portfolio_fields(pos, price, server.book.unrealized(pos, prices)))
        self.send(8, 1, datetime.now(timezone.utc).strftime("%H:%M"))

    def req_account_updates_multi(self, fields: list[str]) -> None:
        req_id, account = to_int(fields[2]), fields[3]
        self.multi[req_id] = account
        self.send_account_multi(req_id, account)
        self.send(74, 1, req_id)

    def send_account_multi(self, req_id: int, account: str) -> None:
        prices = self.server.prices()
        for acct in [account] if account else self.server.accounts:
            for tag, value, currency in self.server.book.account_values(acct, prices):
                self.send(73, 1, req_id, acct, "", tag, value, currency)

    def cancel_account_updates_multi(self, fields: list[str]) -> None:
        self.multi.pop(to_int(fields[2]), None)

    def req_account_summary(self, fields: list[str]) -> None:
        req_id, tags = to_int(fields[2]), set(fields[4].split(","))
        prices = self.server.prices()
        for acct in self.server.accounts:
            for tag, value, currency in self.server.book.account_values(acct, prices):
                if tag in tags and currency != "BASE":
                    self.send(63, 1, req_id, acct, tag, value, currency)
        self.send(64, 1, req_id)

    # -- orders and executions ---------------------------------------------------------------
    def req_open_orders(self, fields: list[str]) -> None:
        self._open_orders(all_clients=self.client_id == 0)

    def req_all_open_orders(self, fields: list[str]) -> None:
        self._open_orders(all_clients=True)

    def _open_orders(self, all_clients: bool) -> None:
        for order in self.server.book.working():
            if all_clients or order.client_id == self.client_id:
                self.send(*wire.open_order_fields(order, self.version))
                self.send(*wire.order_status_fields(order))
        self.send(53, 1)

    def req_completed_orders(self, fields: list[str]) -> None:
        for order in self.server.book.completed():
            self.send(*wire.completed_order_fields(order, self.version, self.server.tz))
        self.send(102)

    def req_executions(self, fields: list[str]) -> None:
        req_id, client, account = to_int(fields[2]), to_int(fields[3]), fields[4]
        symbol, sec_type, side = fields[6], fields[7], fields[9]
        for ex in self.server.book.executions:
            o = ex.order
            if (client and o.client_id != client) or (account and o.account != account) \
                    or (symbol and o.spec.symbol != symbol) \
                    or (sec_type and o.spec.sec_type != sec_type) \
                    or (side and side.upper() not in (o.action.upper(), ex.side)):
                continue
            self.send(*wire.exec_details_fields(req_id, ex, self.server.tz))
            self.send(*wire.commission_fields(ex))
        self.send(55, 1, req_id)

    def place_order(self, fields: list[str]) -> None:
        self.server.place_order(self, fields)

    def cancel_order(self, fields: list[str]) -> None:
        self.server.cancel_order(self, to_int(fields[2]))

    def global_cancel(self, fields: list[str]) -> None:
        self.server.global_cancel()

    # -- contracts and market data -----------------------------------------------------------
    def req_contract_details(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        req = ContractRequest.parse(fields, 3)
        fault = self.server.take_fault("contract_details")
        if fault is not None:
            self.error(req_id, *fault)
            return
        found = self.server.lookup(req)
        if not found:
            self.error(req_id, *NO_SECURITY)
            return
        for spec in found:
            self.send(*details_fields(req_id, spec, request_exchange(spec, req)))
        self.send(52, 1, req_id)

    def req_historical_data(self, fields: list[str]) -> None:
        req_id = to_int(fields[1])
        req = ContractRequest.parse(fields, 2)
        found = self.server.lookup(req)
        spec = found[0] if len(found) == 1 else None
        hist = HistoricalRequest(
            req_id=req_id, client_id=self.client_id or 0, con_id=spec.con_id if spec else 0,
            symbol=spec.symbol if spec else req.symbol, end=fields[15], bar_size=fields[16],
            duration=fields[17], use_rth=to_bool(fields[18]), what_to_show=fields[19],
            format_date=to_int(fields[20], 1), keep_up_to_date=to_bool(fields[21]))
        self.server.historical.append(hist)
        if spec is None:
            self.error(req_id, *NO_SECURITY)
            return
        fault = self.server.take_fault("historical")
        if fault is not None:
            self.error(req_id, *fault)
            return
        series = self.server.series_of(spec.con_id)
        end = parse_end(hist.end, self.server.tz)
        bars = series.window(end, duration_seconds(hist.duration))
        self.send(*historical_fields(hist, bars, series.step, self.server.tz, end))
        if hist.keep_up_to_date:
            hist.session = self

    def cancel_historical_data(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        for hist in self.server.historical:
            if hist.req_id == req_id and hist.client_id == self.client_id:
                hist.cancelled = True

    def req_realtime_bars(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        found = self.server.lookup(ContractRequest.parse(fields, 3))
        if len(found) != 1:
            self.error(req_id, *NO_SECURITY)
            return
        self.server.realtime.append(RealtimeRequest(
            req_id, self.client_id or 0, found[0].con_id, fields[16], to_bool(fields[17]),
            session=self))

    def cancel_realtime_bars(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        for req in self.server.realtime:
            if req.req_id == req_id and req.client_id == self.client_id:
                req.cancelled = True

    def req_mkt_data(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        found = self.server.lookup(ContractRequest.parse(fields, 3))
        if len(found) != 1:
            self.error(req_id, *NO_SECURITY)
            return
        req = QuoteRequest(req_id, self.client_id or 0, found[0].con_id, to_bool(fields[17]),
                           session=self)
        self.server.send_quote(req)
        if req.snapshot:
            self.send(57, 1, req_id)
        else:
            self.server.quotes.append(req)

    def cancel_mkt_data(self, fields: list[str]) -> None:
        req_id = to_int(fields[2])
        for req in self.server.quotes:
            if req.req_id == req_id and req.client_id == self.client_id:
                req.cancelled = True

    def ignore(self, fields: list[str]) -> None:
        """A setting TWS takes without an answer."""

"""``FakeBinance``: the loopback exchange server (aiohttp on 127.0.0.1, its own thread and loop).

Speaks Binance Spot's wire protocol to the real python-binance client: REST under ``/api/v3``
(HMAC-SHA256 signatures and ``X-MBX-APIKEY`` checked, timestamps held to recvWindow against the
market clock), kline streams under ``/ws/<symbol>@kline_<interval>`` and combined streams under
``/stream?streams=<symbol>@kline_<interval>/...`` (each event wrapped as ``{"stream", "data"}``),
and the WebSocket API at ``/ws-api/v3`` for ``userDataStream.subscribe.signature``. Tests drive the market with
``advance()`` / ``play()``, read what it received in ``requests`` and ``orders``, and make it
misbehave with ``inject(Fault(...))``.

A test that plays bars of its own, one at a time (the broker contract plays Cerebro's), drives it
with ``trade_at(price)`` (market orders fill there) and ``match(bar)`` (the resting orders trade
against that bar's range); the fake's own bars, klines and clock stay where they are. Tests that
share one server each take a fresh account with ``open_account``.

A basket's account: ``listings`` are the symbols it trades besides the first (their assets and
filters; one set of balances). Their prices are what ``trade_at(price, symbol)`` set (the ticker
and market orders use them) and ``match(bar, symbol)`` trades their resting orders; exchangeInfo,
the ticker, open orders, lookups and trades answer per symbol, and the one user data stream
reports every symbol's executions.

A bot in another process plays its bars the same way through the fake's control routes (not
Binance's API; ``fakes.binance.control.RemoteFake`` calls them): ``POST /fake/trade_at``,
``POST /fake/match`` and ``GET /fake/orders`` (``order_statuses``).

A basket's market: ``more_markets`` lists further symbols and their bars; their klines are served
over REST and the streams as the first symbol's are, on the first symbol's clock: when its bar
closes, each of theirs up to that time closes too (a symbol with a gap there closes none). Their
orders and balances are the ``listings``' above.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from fakes.binance.account import ApiError, FakeAccount, Filters, Listing
from fakes.binance.market import FREEZE_BEFORE_CLOSE_MS, FakeMarket, forming_index
from trading.core.types import Bar

PARAMS = web.RequestKey("params", dict)
RAW = web.RequestKey("raw", tuple)
API_KEY = "fake-api-key-0123456789"
API_SECRET = "fake-api-secret-9876543210"


@dataclass
class Fault:
    """A misbehaviour, applied to the next ``count`` matching requests (REST faults) or at once.

    kinds: ``status`` (answer ``status`` with ``retry_after``), ``reject`` (answer 400 with
    Binance's ``code`` and ``message``), ``timeout`` (answer after
    ``delay`` s), ``lose_response`` (do the work, then drop the connection unanswered),
    ``clock`` (answer -1021), ``drop_streams`` / ``drop_user_streams`` (close those sockets now),
    ``silence`` (send nothing on the kline streams for ``delay`` s).
    """

    kind: str
    path: str = ""
    method: str = ""
    count: int = 1
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    code: int = -2010
    message: str = "Account has insufficient balance for requested action."

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (not self.method or self.method == method)


@dataclass
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    params: dict[str, str]
    api_key: str | None
    at: float
    answered: int = 0


@dataclass
class _Subscription:
    ws: web.WebSocketResponse
    sid: int


class FakeBinance:
    """See the module docstring. ``bars``: the market to play; the first ``history`` are closed
    when it starts, bar ``history`` is forming. ``more_markets``: a basket's other symbols
    (symbol -> bars), their bars before that time closed."""

    def __init__(self, bars: Sequence[Bar], *, symbol: str = "ETHBTC", base: str = "ETH",
                 quote: str = "BTC", interval: str = "5m", history: int = 100,
                 balances: dict[str, float] | None = None, filters: Filters | None = None,
                 split_fills: int = 1, fee_rate: float = 0.001, bnb_price: float | None = None,
                 api_key: str = API_KEY, api_secret: str = API_SECRET,
                 listings: Sequence[Listing] = (),
                 more_markets: Mapping[str, Sequence[Bar]] | None = None) -> None:
        self.market = FakeMarket(bars, symbol, interval, history)
        self.markets = {symbol: self.market, **{
            name: FakeMarket(more, name, interval, forming_index(more, self.market.bars[history].ts))
            for name, more in (more_markets or {}).items()}}
        self.account = FakeAccount(symbol, base, quote, balances or {quote: 1.0}, filters or Filters(),
                                   fee_rate=fee_rate, split_fills=split_fills, bnb_price=bnb_price,
                                   more=tuple(listings))
        self._listed_prices: dict[str, float] = {}  # a listing's price (trade_at)
        self.symbol, self.base, self.quote = symbol, base, quote
        self.api_key, self.api_secret = api_key, api_secret
        self.lock = threading.RLock()
        self.requests: list[Received] = []
        self.faults: list[Fault] = []
        self.kline_sent_at: dict[int, float] = {}  # bar open ms -> perf_counter when sent
        # (client id, perf_counter) of every order placed (an OCO by its stop-loss's id)
        self.order_received_at: list[tuple[str, float]] = []
        # client id -> (perf_counter, time.time()) when it first filled
        self.filled_at: dict[str, tuple[float, float]] = {}
        # booked(client ids) -> whether the bot has saved those orders' final states: a bar that
        # filled orders closes only then (set by a test's lockstep; None: heard of is enough)
        self.booked: Callable[[list[str]], bool] | None = None
        # on_order(phase, params): a test's hook on every order placement (an OCO too), called
        # on the fake's loop when the request arrives ("received") and once it is done, just
        # before the answer goes out ("answered"), e.g. to kill the bot right there
        self.on_order: Callable[[str, dict[str, str]], None] | None = None
        self.delivered: set[str] = set()  # client ids whose final state reached the bot
        self.acknowledged: set[str] = set()  # client ids whose placement the fake answered
        self.seen_ids: set[str] = set()  # client ids of every placement request, answered or not
        self.stream_connections = 0
        self.user_subscriptions = 0
        self._streams: list[web.WebSocketResponse] = []
        # each stream socket's symbols, and whether it is a combined stream (events wrapped)
        self._stream_symbols: dict[web.WebSocketResponse, tuple[tuple[str, ...], bool]] = {}
        # (symbols, combined) of every stream socket a client opened, for assertions
        self.stream_sockets: list[tuple[tuple[str, ...], bool]] = []
        self._ws_api: list[web.WebSocketResponse] = []
        self._subs: list[_Subscription] = []
        self._silent_until = 0.0
        self._sid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._player: threading.Thread | None = None
        self._stop_playing = threading.Event()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeBinance":
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-binance",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Binance did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            app = web.Application(middlewares=[self._middleware])
            app.router.add_get("/api/v3/ping", self._ping)
            app.router.add_get("/api/v3/time", self._time)
            app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
            app.router.add_get("/api/v3/klines", self._klines)
            app.router.add_get("/api/v3/ticker/price", self._ticker)
            app.router.add_get("/api/v3/account", self._account)
            app.router.add_get("/api/v3/openOrders", self._open_orders)
            app.router.add_get("/api/v3/order", self._get_order)
            app.router.add_post("/api/v3/order", self._post_order)
            app.router.add_delete("/api/v3/order", self._delete_order)
            app.router.add_post("/api/v3/orderList/oco", self._post_oco)
            app.router.add_get("/api/v3/myTrades", self._my_trades)
            app.router.add_get("/ws/{stream}", self._stream)
            app.router.add_get("/stream", self._combined_stream)
            app.router.add_get("/ws-api/v3", self._ws_api_handler)
            app.router.add_post("/fake/trade_at", self._control_trade_at)
            app.router.add_post("/fake/match", self._control_match)
            app.router.add_get("/fake/orders", self._control_orders)
            self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        loop.run_until_complete(boot())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
        loop.close()

    def stop(self) -> None:
        self.stop_playing()
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def close_all() -> None:
            for ws in list(self._streams) + list(self._ws_api):
                await ws.close()

        try:
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(5)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "FakeBinance":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a client needs -----------------------------------------------------------------
    @property
    def urls(self) -> dict[str, str]:
        base = f"127.0.0.1:{self.port}"
        return {"rest": f"http://{base}/api", "stream": f"ws://{base}/",
                "ws_api": f"ws://{base}/ws-api/v3"}

    def env(self) -> dict[str, str]:
        """Environment variables pointing a bot here, with keys for both account kinds."""
        u = self.urls
        return {"BINANCE_REST_URL": u["rest"], "BINANCE_STREAM_URL": u["stream"],
                "BINANCE_WS_API_URL": u["ws_api"], "BINANCE_API_KEY": self.api_key,
                "BINANCE_API_SECRET": self.api_secret, "BINANCE_TESTNET_API_KEY": self.api_key,
                "BINANCE_TESTNET_API_SECRET": self.api_secret}

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- driving the market ------------------------------------------------------------------
    def advance(self, bars: int = 1, hold: bool = True) -> int:
        """Close ``bars`` bars (fewer at the end of the data); returns how many closed. With
        ``hold`` a bar that fills orders closes only once the bot has heard of the fills."""
        return self._call(self._advance(bars, hold), timeout=30)

    async def _advance(self, bars: int, hold: bool = True,
                       stop: threading.Event | None = None) -> int:
        done = 0
        for _ in range(bars):
            with self.lock:
                if not self.market.can_advance:
                    break
                index = self.market.cursor
                closed = self.market.advance()
                # what the bar's range filled traded inside that bar: stamped at its last
                # second, as Binance stamps a trade when it happens
                during = self.market.open_ms(index) + self.market.step - FREEZE_BEFORE_CLOSE_MS
                reports = self.account.on_bar(closed, during)
                closed_event = self.market.event(index)
                forming_event = self.market.event(self.market.cursor)
                more_events = self._close_more_markets(closed.ts)
            await self._push_reports(reports)
            if hold:
                await self._until_told([r["C"] or r["c"] for r in reports
                                        if r["X"] not in ("NEW", "PARTIALLY_FILLED")], stop)
            if time.monotonic() >= self._silent_until:
                self.kline_sent_at[closed_event["k"]["t"]] = time.perf_counter()
                await self._broadcast(closed_event)
                await self._broadcast(forming_event)
                for event in more_events:
                    await self._broadcast(event)
            done += 1
        return done

    def _close_more_markets(self, until: float) -> list[dict[str, Any]]:
        """A basket's other markets close their bars up to ``until`` (the first's bar just
        closed): their events, closed then forming, stamped with the first market's clock."""
        events = []
        now = self.market.now_ms()
        for market in list(self.markets.values())[1:]:
            closed = []
            while market.can_advance and market.bars[market.cursor].ts <= until:
                closed.append(market.cursor)
                market.advance()
            if closed:
                events += [market.event(i) for i in closed] + [market.event(market.cursor)]
        for event in events:
            event["E"] = now
        return events

    async def _until_told(self, client_ids: list[str], stop: threading.Event | None = None,
                          timeout: float = 10.0) -> None:
        """Hold the bar's close until the bot has heard of the fills it brought (over the user
        stream, or by polling while that is down) and, with ``booked`` set, has booked them:
        on a real market the bar lasts minutes, so the bot knows its fills before the bar
        closes. ``stop`` set (the player told to stop: the bot may be dead) ends the hold."""
        deadline = time.monotonic() + timeout

        def holding() -> bool:
            return time.monotonic() < deadline and not (stop is not None and stop.is_set())

        while client_ids and not set(client_ids) <= self.delivered and holding():
            await asyncio.sleep(0.002)
        booked = self.booked
        while client_ids and booked is not None and holding():
            if await asyncio.to_thread(booked, client_ids):
                return
            await asyncio.sleep(0.002)

    def play(self, rate: float = 0.0, gate: Callable[[], bool] | None = None,
             timeout: float = 120.0) -> None:
        """Advance in the background: ``rate`` bars/s (0: as fast as ``gate`` allows), each bar
        only once ``gate()`` says so. Stops at the end of the data or after ``timeout`` s."""
        self.stop_playing()
        self._stop_playing.clear()

        def run() -> None:
            deadline = time.monotonic() + timeout
            pause = 1.0 / rate if rate else 0.0
            while not self._stop_playing.is_set() and time.monotonic() < deadline:
                if gate is not None and not gate():
                    time.sleep(0.002)
                    continue
                if not self._call(self._advance(1, stop=self._stop_playing), timeout=30):
                    return
                if pause:
                    time.sleep(pause)

        self._player = threading.Thread(target=run, name="fake-binance-player", daemon=True)
        self._player.start()

    def stop_playing(self) -> None:
        self._stop_playing.set()
        if self._player is not None:
            self._player.join(10)
            self._player = None

    def trade_at(self, price: float, symbol: str | None = None) -> None:
        """Market orders (of ``symbol``, the first by default) fill at ``price`` from now on,
        and the ticker says so (module docstring)."""
        with self.lock:
            if symbol in (None, self.symbol):
                self.market.trade_at(price)
            else:
                self.account.listing(symbol)
                self._listed_prices[symbol] = price

    def place_order(self, params: dict[str, str]) -> None:
        """An order placed in the account by another program (a person, another bot): the
        params of ``POST /api/v3/order``; its reports go out on the user data stream."""
        with self.lock:
            symbol = self.account.listing(params.get("symbol")).symbol
            _, reports = self.account.place(params, self.price_of(symbol), self.market.now_ms())
        self._call(self._push_reports(reports))

    def price_of(self, symbol: str) -> float:
        """What a market order of ``symbol`` trades at now (ApiError for a symbol not traded)."""
        if symbol == self.symbol:
            return self.market.price
        self.account.listing(symbol)
        if symbol not in self._listed_prices:
            raise ApiError(-1121, f"Invalid symbol: the fake has no price for {symbol} yet "
                                  "(trade_at)")
        return self._listed_prices[symbol]

    def match(self, bar: Bar, symbol: str | None = None) -> None:
        """Trade the resting orders of ``symbol`` (the first by default) against ``bar`` (its
        open, high and low) as ``advance()`` trades them against a closing bar, and push their
        execution reports on the user data stream; the market's own bars and clock stay."""
        self._call(self._match(bar, symbol))

    async def _match(self, bar: Bar, symbol: str | None = None) -> None:
        with self.lock:
            reports = self.account.on_bar(bar, self.market.now_ms(), symbol)
        await self._push_reports(reports)

    def open_account(self, balances: dict[str, float], fee_rate: float | None = None) -> None:
        """Start over on a fresh account holding ``balances`` (no orders, no trades), with the
        same symbol, filters and fee settings: tests sharing one server each take their own."""
        with self.lock:
            old = self.account
            self.account = FakeAccount(old.symbol, old.base, old.quote, balances, old.filters,
                                       fee_rate=float(old.fee_rate if fee_rate is None else fee_rate),
                                       split_fills=old.split_fills,
                                       bnb_price=None if old.bnb_price is None
                                       else float(old.bnb_price), more=old.more)

    def order_statuses(self) -> dict[str, str]:
        """Every order's client id and Binance status (the latest order with that id)."""
        with self.lock:
            return {o.client_id: o.status for o in self.account.orders.values()}

    def settled(self, client_ids: Sequence[str]) -> bool:
        """True when every one of ``client_ids`` was answered and every order that reached a
        final state here has been told to the bot (stream, or its answer to a poll)."""
        with self.lock:
            final = {o.client_id for o in self.account.orders.values() if not o.open}
            return set(client_ids) <= self.acknowledged and final <= self.delivered

    @property
    def closed_bars(self) -> list[Bar]:
        with self.lock:
            return self.market.bars[:self.market.cursor]

    def closed_bars_of(self, symbol: str) -> list[Bar]:
        """The closed bars of one of the basket's markets."""
        with self.lock:
            market = self.markets[symbol]
            return market.bars[:market.cursor]

    # -- faults ------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        if fault.kind == "drop_streams":
            self._call(self._close_sockets(self._streams))
        elif fault.kind == "drop_user_streams":
            self._call(self._close_sockets(self._ws_api))
        elif fault.kind == "silence":
            self._silent_until = time.monotonic() + fault.delay
        else:
            with self.lock:
                self.faults.append(fault)

    async def _close_sockets(self, sockets: list[web.WebSocketResponse]) -> None:
        for ws in list(sockets):
            await ws.close()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- REST plumbing -----------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path.startswith(("/ws", "/fake/")) or request.path == "/stream":
            return await handler(request)
        body = await request.text() if request.can_read_body else ""
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        params.update(dict(parse_qsl(body, keep_blank_values=True)))
        record = Received(request.method, request.path, params, request.headers.get("X-MBX-APIKEY"),
                          time.perf_counter())
        with self.lock:
            self.requests.append(record)
        if request.method == "POST" and request.path == "/api/v3/order":
            self.order_received_at.append((params.get("newClientOrderId", ""), record.at))
        elif request.method == "POST" and request.path == "/api/v3/orderList/oco":
            self.order_received_at.append((params.get("belowClientOrderId", ""), record.at))
        with self.lock:
            self.seen_ids.update(params[k] for k in ("newClientOrderId", "aboveClientOrderId",
                                                     "belowClientOrderId") if k in params)
        request[PARAMS], request[RAW] = params, (request.query_string, body)
        placing = request.method == "POST" and request.path in ("/api/v3/order",
                                                                "/api/v3/orderList/oco")
        if placing and self.on_order is not None:
            self.on_order("received", params)
        fault = self._take_fault(request.method, request.path)
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            record.answered = fault.status
            return web.json_response({"code": -1003 if fault.status in (418, 429) else -1001,
                                      "msg": f"fake fault {fault.status}"},
                                     status=fault.status, headers=headers)
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "reject":
            record.answered = 400
            with self.lock:
                self.acknowledged.add(params.get("newClientOrderId", ""))
            return self._error(ApiError(fault.code, fault.message))
        if fault is not None and fault.kind == "clock":
            record.answered = 400
            return self._error(ApiError(-1021, "Timestamp for this request is outside of the recvWindow."))
        try:
            response = await handler(request)
        except ApiError as exc:
            response = self._error(exc)
        record.answered = response.status
        if placing:
            with self.lock:
                self.acknowledged.update(params[k] for k in ("newClientOrderId", "aboveClientOrderId",
                                                             "belowClientOrderId") if k in params)
            if self.on_order is not None:
                self.on_order("answered", params)
        if fault is not None and fault.kind == "lose_response":
            assert request.transport is not None
            request.transport.close()  # the work is done; the answer never arrives
        return response

    @staticmethod
    def _error(exc: ApiError) -> web.Response:
        return web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)

    def _signed(self, request: web.Request) -> dict[str, str]:
        """The request's params once its key, signature and timestamp pass Binance's checks."""
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        query, body = request[RAW]
        total = "&".join(p for p in (query, body) if p)
        payload, _, signature = total.rpartition("&signature=")
        if not signature or not hmac.compare_digest(signature, self._hmac(payload)):
            raise ApiError(-1022, "Signature for this request is not valid.")
        self._check_time(request[PARAMS])
        return request[PARAMS]

    def _hmac(self, payload: str) -> str:
        return hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def _check_time(self, params: dict[str, Any]) -> None:
        try:
            stamp = int(params["timestamp"])
        except (KeyError, ValueError):
            raise ApiError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, "
                           "or malformed.") from None
        window = int(params.get("recvWindow", 5000))
        server = self.market.now_ms()
        # Binance: refused when ahead of its clock by 1 s or more, or older than recvWindow; the
        # age is judged against the clock of ``window`` ms ago (this market runs fast)
        if stamp >= server + 1000 or self.market.was_ms(window / 1000) - stamp > window:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")

    # -- public endpoints --------------------------------------------------------------------
    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.market.now_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        params = request[PARAMS]
        listings = self.account.listings
        if "symbol" in params:
            wanted = [params["symbol"]]
        elif "symbols" in params:
            wanted = json.loads(params["symbols"])
        else:
            wanted = list(listings)
        if any(w not in listings for w in wanted):
            raise ApiError(-1121, "Invalid symbol.")
        symbols = [{"symbol": w, "status": "TRADING", "baseAsset": listings[w].base,
                    "baseAssetPrecision": 8, "quoteAsset": listings[w].quote, "quotePrecision": 8,
                    "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET",
                                                             "STOP_LOSS_LIMIT",
                                                             "TAKE_PROFIT_LIMIT"],
                    "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
                    "isSpotTradingAllowed": True, "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "filters": listings[w].filters.exchange_info()} for w in wanted]
        return web.json_response({"timezone": "UTC", "serverTime": self.market.now_ms(),
                                  "rateLimits": [], "exchangeFilters": [], "symbols": symbols})

    async def _klines(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        market = self.markets.get(p.get("symbol", ""))
        if market is None:
            raise ApiError(-1121, "Invalid symbol.")
        if p.get("interval") != market.interval:
            raise ApiError(-1120, "Invalid interval.")
        limit = min(int(p.get("limit", 500)), 1000)
        with self.lock:
            rows = market.klines(int(p["startTime"]) if "startTime" in p else None,
                                      int(p["endTime"]) if "endTime" in p else None, limit)
        return web.json_response(rows)

    async def _ticker(self, request: web.Request) -> web.Response:
        wanted = request[PARAMS].get("symbol")
        bnb_price = self.account.bnb_price
        if bnb_price is not None and wanted == f"BNB{self.quote}":  # what its fees are valued at
            return web.json_response({"symbol": wanted, "price": f"{bnb_price:.8f}"})
        with self.lock:
            price = self.price_of(wanted or "")
        return web.json_response({"symbol": wanted, "price": f"{price:.8f}"})

    # -- account endpoints -------------------------------------------------------------------
    async def _account(self, request: web.Request) -> web.Response:
        self._signed(request)
        with self.lock:
            balances = self.account.balances()
        return web.json_response({"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                                  "canWithdraw": True, "canDeposit": True, "accountType": "SPOT",
                                  "updateTime": self.market.now_ms(), "balances": balances,
                                  "permissions": ["SPOT"]})

    def _deliver_if_final(self, orders: Sequence[Any]) -> None:
        for order in orders:
            if not order.open:
                self.delivered.add(order.client_id)

    async def _open_orders(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            symbol = params.get("symbol")
            if symbol is not None:
                self.account.listing(symbol)
            orders = [o.to_json() for o in self.account.open_orders(symbol)]
        return web.json_response(orders)

    def _lookup(self, params: dict[str, str]) -> Any:
        symbol = self.account.listing(params.get("symbol")).symbol
        return self.account.find(params.get("orderId"), params.get("origClientOrderId"), symbol)

    async def _get_order(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            order = self._lookup(params)
            if not order.executed:  # with fills, the bot asks for its trades next
                self._deliver_if_final([order])
            return web.json_response(order.to_json())

    async def _post_order(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            try:
                price = self.price_of(self.account.listing(params.get("symbol")).symbol)
                order, reports = self.account.place(params, price, self.market.now_ms())
            except ApiError:
                self.delivered.add(params.get("newClientOrderId", ""))
                raise
            if order.executed:
                self.filled_at.setdefault(order.client_id, (time.perf_counter(), time.time()))
            answer = order.to_json()
            self._deliver_if_final([order])  # the answer itself tells the final state
            answer["transactTime"] = self.market.now_ms()
            answer["fills"] = [{"price": t["price"], "qty": t["qty"], "commission": t["commission"],
                                "commissionAsset": t["commissionAsset"], "tradeId": t["id"]}
                               for t in self.account.trades if t["orderId"] == order.order_id]
        await self._push_reports(reports)
        return web.json_response(answer)

    async def _post_oco(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            symbol = self.account.listing(params.get("symbol")).symbol
            orders, reports = self.account.place_oco(params, self.price_of(symbol),
                                                     self.market.now_ms())
            answer = {"orderListId": orders[0].list_id, "contingencyType": "OCO",
                      "listStatusType": "EXEC_STARTED", "listOrderStatus": "EXECUTING",
                      "listClientOrderId": params.get("listClientOrderId", ""),
                      "transactionTime": self.market.now_ms(), "symbol": symbol,
                      "orders": [{"symbol": symbol, "orderId": o.order_id,
                                  "clientOrderId": o.client_id} for o in orders],
                      "orderReports": [o.to_json() for o in orders]}
        await self._push_reports(reports)
        return web.json_response(answer)

    async def _delete_order(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            order = self._lookup(params)
            reports = self.account.cancel(order, self.market.now_ms())
            answer = order.to_json()
            self.delivered.add(order.client_id)
        await self._push_reports(reports)
        return web.json_response(answer)

    async def _my_trades(self, request: web.Request) -> web.Response:
        params = self._signed(request)
        with self.lock:
            symbol = self.account.listing(params.get("symbol")).symbol  # Binance requires it
            trades = [t for t in self.account.trades if t["symbol"] == symbol and
                      ("orderId" not in params or t["orderId"] == int(params["orderId"]))]
            if "orderId" in params:
                self._deliver_if_final([self.account.find(params["orderId"], symbol=symbol)])
            if "fromId" in params:
                trades = [t for t in trades if t["id"] >= int(params["fromId"])]
        return web.json_response(trades[-int(params.get("limit", 500)):])

    # -- the test's control routes (another process's lockstep) -------------------------------
    async def _control_trade_at(self, request: web.Request) -> web.Response:
        asked = await request.json()
        try:
            self.trade_at(float(asked["price"]), asked.get("symbol"))
        except ApiError as exc:
            return self._error(exc)
        return web.json_response({})

    async def _control_match(self, request: web.Request) -> web.Response:
        asked = await request.json()
        await self._match(Bar(*(float(v) for v in asked["bar"])), asked.get("symbol"))
        return web.json_response({})

    async def _control_orders(self, request: web.Request) -> web.Response:
        return web.json_response(self.order_statuses())

    # -- WebSockets --------------------------------------------------------------------------
    async def _broadcast(self, event: dict[str, Any]) -> None:
        """``event`` to every stream socket that asked for its symbol's klines."""
        symbol = event["s"]
        for ws, (symbols, combined) in list(self._stream_symbols.items()):
            if ws.closed or symbol not in symbols:
                continue
            try:
                await ws.send_str(self._wire(event, combined))
            except ConnectionError:
                pass

    def _wire(self, event: dict[str, Any], combined: bool) -> str:
        if not combined:
            return json.dumps(event)
        stream = f"{event['s'].lower()}@kline_{self.market.interval}"
        return json.dumps({"stream": stream, "data": event})

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws/<symbol>@kline_<interval>``: one symbol's klines, events as they are."""
        return await self._serve_streams(request, [request.match_info["stream"]], combined=False)

    async def _combined_stream(self, request: web.Request) -> web.WebSocketResponse:
        """``/stream?streams=a@kline_5m/b@kline_5m``: several streams on one socket, each event
        wrapped as ``{"stream": <name>, "data": <event>}``, as Binance's combined streams."""
        names = request.query.get("streams", "").split("/")
        return await self._serve_streams(request, names, combined=True)

    def _symbols_of(self, names: list[str]) -> tuple[str, ...] | None:
        """The symbols of kline stream names, None when one is not a stream served here."""
        symbols = []
        for name in names:
            lower, _, kind = name.partition("@")
            symbol = next((s for s in self.markets if s.lower() == lower), None)
            if symbol is None or kind != f"kline_{self.market.interval}":
                return None
            symbols.append(symbol)
        return tuple(symbols) or None

    async def _serve_streams(self, request: web.Request, names: list[str],
                             combined: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        symbols = self._symbols_of(names)
        if symbols is None:
            await ws.close(code=1008, message=b"unknown stream")
            return ws
        self.stream_connections += 1
        self.stream_sockets.append((symbols, combined))
        self._streams.append(ws)
        self._stream_symbols[ws] = (symbols, combined)
        try:
            with self.lock:
                forming = [self.markets[s].event(self.markets[s].cursor) for s in symbols]
            for event in forming:
                await ws.send_str(self._wire(event, combined))
            async for _ in ws:  # clients only send control frames
                pass
        finally:
            self._streams.remove(ws)
            self._stream_symbols.pop(ws, None)
        return ws

    async def _push_reports(self, reports: list[dict[str, Any]]) -> None:
        for report in reports:
            for sub in list(self._subs):
                if sub.ws.closed:
                    continue
                try:
                    await sub.ws.send_str(json.dumps({"subscriptionId": sub.sid, "event": report}))
                    if report["X"] not in ("NEW", "PARTIALLY_FILLED"):
                        self.delivered.add(report["C"] or report["c"])
                except ConnectionError:
                    pass

    async def _ws_api_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws_api.append(ws)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                answer = self._ws_api_call(ws, json.loads(message.data))
                await ws.send_str(json.dumps(answer))
        finally:
            self._ws_api.remove(ws)
            self._subs = [s for s in self._subs if s.ws is not ws]
        return ws

    def _ws_api_call(self, ws: web.WebSocketResponse, call: dict[str, Any]) -> dict[str, Any]:
        rid, method, params = call.get("id"), call.get("method"), dict(call.get("params") or {})
        with self.lock:
            self.requests.append(Received("WS", method or "", params, params.get("apiKey"),
                                          time.perf_counter(), 200))
        try:
            if method == "userDataStream.subscribe.signature":
                signature = params.pop("signature", "")
                if params.get("apiKey") != self.api_key:
                    raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
                payload = urlencode(sorted(params.items()))
                if not hmac.compare_digest(signature, self._hmac(payload)):
                    raise ApiError(-1022, "Signature for this request is not valid.")
                self._check_time(params)
                self._sid += 1
                self._subs.append(_Subscription(ws, self._sid))
                self.user_subscriptions += 1
                return {"id": rid, "status": 200, "result": {"subscriptionId": self._sid}}
            if method == "userDataStream.unsubscribe":
                self._subs = [s for s in self._subs if s.sid != params.get("subscriptionId")]
                return {"id": rid, "status": 200, "result": {}}
            if method == "ping":
                return {"id": rid, "status": 200, "result": {}}
            raise ApiError(-1000, f"unknown method {method}")
        except ApiError as exc:
            return {"id": rid, "status": exc.status, "error": {"code": exc.code, "msg": exc.msg}}

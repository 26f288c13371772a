"""``BinanceVenue``: the bot's one connection to Binance, shared by its feed and its broker.

Built on python-binance's ``AsyncClient`` and ``BinanceSocketManager`` and living on the bot's I/O
thread: every coroutine here runs on that loop. The python-binance specifics stay in this package
(URLs are class attributes of a per-venue subclass, see ../shared/PROTOCOL_NOTES.md).

Every REST call goes through ``request``, which applies Binance's rules for errors:

- HTTP 429 (too many requests): wait ``Retry-After`` and keep a slower pace for a while;
- HTTP 418 (IP banned): send nothing until the ban ends (``Retry-After``), then carry on;
- HTTP 5xx, timeouts, dropped connections: retry with capped backoff (order placement asks the
  caller instead: see ``orders.place_order``, which looks the order up before re-sending);
- code -1021 (timestamp outside recvWindow): re-sync the clock and retry;
- Binance unreachable (connection refused, a name that does not resolve, a TLS failure): retried
  like a 5xx by a bot, which waits for the network to come back; a one-shot command
  (``retry_unreachable=False``: ``tradingbot download``) fails at once, as retrying will not help;
- anything else (-2010 insufficient balance, -1013 filter failure, -1121 bad symbol ...) is a
  ``VenueError`` (``OrderRejected`` for orders) with Binance's own message.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any, Awaitable, Callable, Sequence

import aiohttp
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException, BinanceRequestException
from binance.ws.constants import WSListenerState

from trading.core.errors import OrderRejected, VenueError
from trading.core.timeutil import iso_z
from trading.venues.binance.endpoints import Credentials, ResolvedEndpoints
from trading.venues.connection import IOBound

log = logging.getLogger(__name__)
# python-binance logs every dropped socket as an ERROR, then hands the error to its reader; the
# feed and the broker handle it and log what it means for the bot, so its own lines are DEBUG-only
_LIBRARY_SOCKET_LOG = logging.getLogger("binance.ws")

ORDER_REJECT_CODES = (-2010, -1013, -1111, -1100, -1102, -1106, -1116, -1117, -1121, -2011)
TIMESTAMP_CODE = -1021
SLOW_PACE_SECONDS = 0.2  # spacing between requests for a while after a 429
SLOW_FOR_SECONDS = 30.0
SOCKET_QUEUE = 10_000  # messages a socket may buffer while the bot is busy (warm-up)
SOCKET_POLL_SECONDS = 1.0  # how often a socket's reader wakes up (also bounds closing time)


class TransientVenueError(VenueError):
    """The request may or may not have reached Binance (5xx, timeout, dropped connection)."""


def is_unreachable(exc: BaseException) -> bool:
    """True for a connection that cannot be made at all (refused, DNS, TLS): not a slow or busy
    Binance, which a retry may get through to."""
    return isinstance(exc, (aiohttp.ClientConnectorError, ConnectionRefusedError, socket.gaierror))


def _retry_after(exc: BinanceAPIException, default: float) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except (TypeError, ValueError):
        return default


class BinanceVenue(IOBound):
    """One Binance connection: REST client, socket manager, server clock, rate-limit state.

    ``start()`` connects (pings, reads the server time) with retries; ``close()`` releases the
    HTTP session and sockets. ``credentials`` are needed only for account endpoints: market data
    is public. ``submit`` hands a coroutine to the I/O thread from any thread (set by the runtime
    with ``bind``). ``retry_unreachable`` False: a refused connection or an unknown host fails at
    once instead of being retried (module docstring).
    """

    NAME = "the Binance connection"

    def __init__(self, endpoints: ResolvedEndpoints, credentials: Credentials | None = None, *,
                 testnet: bool = False, request_timeout: float = 10.0, recv_window_ms: int = 5000,
                 max_attempts: int = 8, backoff_cap: float = 10.0,
                 retry_unreachable: bool = True) -> None:
        self.endpoints = endpoints
        self.retry_unreachable = retry_unreachable
        self.credentials = credentials
        self.testnet = testnet
        self.request_timeout = request_timeout
        self.recv_window_ms = recv_window_ms
        self.max_attempts = max_attempts
        self.backoff_cap = backoff_cap
        self.client: AsyncClient | None = None
        self.sockets: BinanceSocketManager | None = None
        self._lock: asyncio.Lock | None = None
        self._banned_until = 0.0
        self._slow_until = 0.0
        self._next_slot = 0.0
        self.last_error = ""
        self.stream_states: dict[str, str] = {}
        self.reconcile_result: str | None = None
        _LIBRARY_SOCKET_LOG.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG)
                                     else logging.CRITICAL)
        self.counters = {"requests": 0, "retries": 0, "rate_limited": 0, "banned": 0,
                         "clock_resyncs": 0}

    # -- lifecycle (I/O thread) --------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.client is not None

    async def start(self) -> None:
        """Connect once (later calls return at once); retries until ``max_attempts`` fail."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.client is not None:
                return
            cls = self._client_class()
            key = self.credentials.api_key if self.credentials else None
            secret = self.credentials.api_secret if self.credentials else None
            attempt = 0
            while True:
                try:
                    self.client = await cls.create(key, secret)
                    break
                except (BinanceAPIException, BinanceRequestException, aiohttp.ClientError,
                        asyncio.TimeoutError, OSError) as exc:
                    attempt += 1
                    self.last_error = f"connect: {exc}"
                    if not self.retry_unreachable and is_unreachable(exc):
                        raise VenueError(f"cannot reach Binance at {self.endpoints.rest}: "
                                         f"{exc}") from exc
                    if attempt >= self.max_attempts:
                        raise VenueError(f"cannot reach Binance at {self.endpoints.rest} after "
                                         f"{attempt} attempts: {exc}") from exc
                    wait = self._backoff(attempt)
                    log.warning("Binance unreachable at %s (%s); retrying in %.1fs",
                                self.endpoints.rest, exc, wait)
                    await asyncio.sleep(wait)
            self.sockets = self._socket_class()(self.client, max_queue_size=SOCKET_QUEUE)
            log.info("connected to Binance%s: %s; clock offset %+d ms",
                     " Spot Testnet" if self.testnet else "", self.endpoints.describe(),
                     self.client.timestamp_offset)

    async def close(self) -> None:
        """Close the HTTP session and the WebSocket API connection (idempotent)."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.close_connection(), timeout=3.0)
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.debug("closing the Binance connection: %s", exc)

    def _client_class(self) -> type[AsyncClient]:
        e = self.endpoints
        # python-binance keeps its URLs in class attributes; a subclass per venue keeps ours
        # out of every other AsyncClient in the process
        return type("BotBinanceClient", (AsyncClient,), {
            "API_URL": e.rest, "API_TESTNET_URL": e.rest, "WS_API_URL": e.ws_api,
            "WS_API_TESTNET_URL": e.ws_api, "REQUEST_TIMEOUT": self.request_timeout,
            "REQUEST_RECVWINDOW": self.recv_window_ms})

    def _socket_class(self) -> type[BinanceSocketManager]:
        stream = self.endpoints.stream
        return type("BotBinanceSockets", (BinanceSocketManager,),
                    {"STREAM_URL": stream, "STREAM_TESTNET_URL": stream})

    # -- the server clock --------------------------------------------------------------------
    def server_now_ms(self) -> int:
        """Binance's clock as this bot estimates it (local clock + measured offset)."""
        offset = self.client.timestamp_offset if self.client is not None else 0
        return int(time.time() * 1000) + offset

    def observe_server_time(self, server_ms: int) -> None:
        """A stream event's time: the server clock is at least there (keeps signatures valid)."""
        client = self.client
        if client is not None:
            seen = int(server_ms) - int(time.time() * 1000)
            if seen > client.timestamp_offset:
                client.timestamp_offset = seen

    async def resync_clock(self) -> int:
        """Measure the server clock again (after -1021); returns the new offset in ms."""
        client = self._require()
        before = time.time()
        answer = await client.get_server_time()
        after = time.time()
        client.timestamp_offset = int(answer["serverTime"] - (before + after) / 2 * 1000)
        self.counters["clock_resyncs"] += 1
        log.info("Binance clock re-synced: offset %+d ms", client.timestamp_offset)
        return client.timestamp_offset

    async def server_time_ms(self) -> int:
        """Ask the server for its time (also refreshes the offset)."""
        client = self._require()
        answer = await self.request("server time", client.get_server_time)
        now = int(answer["serverTime"])
        client.timestamp_offset = now - int(time.time() * 1000)
        return now

    # -- requests ----------------------------------------------------------------------------
    def _require(self) -> AsyncClient:
        if self.client is None:
            raise VenueError("the Binance connection is not started")
        return self.client

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, 0.1 * 2 ** attempt)

    async def _wait_turn(self) -> None:
        now = time.monotonic()
        if now < self._banned_until:
            await asyncio.sleep(self._banned_until - now)
            now = time.monotonic()
        if now < self._slow_until:
            slot = max(now, self._next_slot)
            self._next_slot = slot + SLOW_PACE_SECONDS
            if slot > now:
                await asyncio.sleep(slot - now)

    async def request(self, what: str, call: Callable[..., Awaitable[Any]], *args: Any,
                      retry_transient: bool = True, **params: Any) -> Any:
        """``await call(*args, **params)`` under Binance's error rules (module docstring).

        ``what`` names the request in messages. With ``retry_transient`` False a 5xx, timeout or
        dropped connection raises ``TransientVenueError`` at once (the caller decides).
        """
        attempt = 0
        while True:
            await self._wait_turn()
            self.counters["requests"] += 1
            try:
                return await call(*args, **params)
            except BinanceAPIException as exc:
                if exc.status_code == 429:
                    wait = _retry_after(exc, 1.0)
                    self.counters["rate_limited"] += 1
                    self._slow_until = time.monotonic() + wait + SLOW_FOR_SECONDS
                    self._note(f"{what}: rate limited (429); waiting {wait:g}s, then slowing down")
                    await asyncio.sleep(wait)
                    continue
                if exc.status_code == 418:
                    wait = _retry_after(exc, 60.0)
                    self.counters["banned"] += 1
                    self._banned_until = time.monotonic() + wait
                    self._note(f"{what}: IP banned by Binance (418); sending nothing for {wait:g}s")
                    continue
                if exc.code == TIMESTAMP_CODE and attempt < self.max_attempts:
                    attempt += 1
                    self._note(f"{what}: {exc.message} (-1021); re-syncing the clock")
                    await self.resync_clock()
                    continue
                if exc.status_code < 500:
                    self.last_error = f"{what}: {exc.message} (code {exc.code})"
                    if exc.code in ORDER_REJECT_CODES:
                        raise OrderRejected(f"Binance rejected {what}: {exc.message} "
                                            f"(code {exc.code})") from exc
                    raise VenueError(f"Binance refused {what}: {exc.message} "
                                     f"(code {exc.code})") from exc
                problem: BaseException = exc
            except (asyncio.TimeoutError, aiohttp.ClientError, BinanceRequestException,
                    OSError) as exc:
                problem = exc
            reason = f"{type(problem).__name__}: {problem}".rstrip(": ")
            if not self.retry_unreachable and is_unreachable(problem):
                self.last_error = f"{what}: {reason}"
                raise VenueError(f"cannot reach Binance at {self.endpoints.rest} ({what}): "
                                 f"{problem}") from problem
            if not retry_transient:
                self.last_error = f"{what}: {reason}"
                raise TransientVenueError(f"{what}: {reason}") from problem
            attempt += 1
            self.counters["retries"] += 1
            if attempt >= self.max_attempts:
                self.last_error = f"{what}: {reason}"
                raise VenueError(f"Binance did not answer {what} after {attempt} attempts: "
                                 f"{reason}") from problem
            wait = self._backoff(attempt)
            self._note(f"{what}: {reason}; retrying in {wait:.1f}s")
            await asyncio.sleep(wait)

    def _note(self, message: str) -> None:
        self.last_error = message
        log.warning("Binance %s", message)

    # -- sockets -----------------------------------------------------------------------------
    def kline_socket(self, symbol: str, interval: str) -> Any:
        """A fresh kline stream socket (``async with``); it never reconnects by itself: the feed
        decides when and how (capped backoff, REST backfill)."""
        sockets = self._require_sockets()
        socket = sockets.kline_socket(symbol, interval)
        socket.MAX_RECONNECTS = 0
        socket.TIMEOUT = SOCKET_POLL_SECONDS
        return socket

    def kline_streams_socket(self, symbols: Sequence[str], interval: str) -> Any:
        """One fresh socket on Binance's combined stream for the klines of every one of
        ``symbols`` (``/stream?streams=a@kline_5m/b@kline_5m``; each event arrives wrapped as
        ``{"stream": ..., "data": ...}``), ``async with``; like ``kline_socket`` it never
        reconnects by itself."""
        sockets = self._require_sockets()
        socket = sockets.multiplex_socket([f"{s.lower()}@kline_{interval}" for s in symbols])
        socket.MAX_RECONNECTS = 0
        socket.TIMEOUT = SOCKET_POLL_SECONDS
        return socket

    def user_socket(self) -> Any:
        """A fresh user data stream (WebSocket API subscription), ``async with``."""
        sockets = self._require_sockets()
        # python-binance keeps a closed user socket in its cache (its exit skips the clean-up for
        # WebSocket API subscriptions) and would hand it back: forget it, subscribe afresh
        for key in [k for k in sockets._conns if str(k).endswith("_user")]:
            del sockets._conns[key]
        socket = sockets.user_socket()
        socket.TIMEOUT = SOCKET_POLL_SECONDS
        return socket

    async def ws_api_settled(self, timeout: float = 10.0) -> None:
        """Wait while python-binance is still reconnecting the WebSocket API after a drop: a
        subscription made meanwhile lands on a connection it is about to replace."""
        ws_api = getattr(self.client, "ws_api", None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while ws_api is not None and ws_api.ws_state == WSListenerState.RECONNECTING \
                and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _require_sockets(self) -> BinanceSocketManager:
        if self.sockets is None:
            raise VenueError("the Binance connection is not started")
        return self.sockets

    # -- status (any thread) -----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "venue": "binance_testnet" if self.testnet else "binance",
            "connected": self.connected,
            "rest": self.endpoints.rest,
            "streams": dict(self.stream_states),
            "banned_for_seconds": round(self._banned_until - now, 1) if now < self._banned_until else 0,
            "slowed_down": now < self._slow_until,
            "last_error": self.last_error or None,
            "last_reconcile": self.reconcile_result,
            "counters": dict(self.counters),
            "server_time": iso_z(self.server_now_ms() / 1000) if self.connected else None,
        }

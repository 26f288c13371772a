"""Orders on Binance Spot for the bot's symbols (one, or a basket), on the I/O thread:
``OrderGateway``.

The broker (on Backtrader's thread) hands it intents with ``venue.submit(gateway.place(...))``
and reads the kernel's ``OrderUpdate``s from ``gateway.updates``, a thread-safe queue. The gateway
merges everything Binance says about an order, from the order's REST answer, the user data stream
(``executionReport``) and REST polling, into one sequence of updates per client order id: each
trade once (by trade id), the final status only once every fill is known. The account at
start-up (an ``AccountReport`` per symbol, one cash) and an order looked up by its client id
(``OrderReport``) are the kernel's reports too, which the shared reconciliation reads.

- A basket: every symbol's rules (exchangeInfo), open orders and price are read at start-up;
  its symbols must share one quote asset (the cash). Each order is followed at its own symbol:
  the one user data stream reports every symbol's executions, routed by symbol and client id;
  lookups, polls and trades are asked per symbol (an id's symbol is the one its tag names).

- Idempotent: an order whose answer was lost (5xx, timeout, dropped connection) is looked up by
  its ``origClientOrderId`` before it is sent again; so is one the bot sent before a restart.
- Fills come from the user data stream; while it is down (and once after every re-subscribe) open
  orders are polled over REST. python-binance reconnects the WebSocket API after a drop but does
  not re-subscribe the user data stream: the gateway does.
- Fees are reported in the quote currency (a base-asset fee at the fill's price, BNB or another
  asset at its price in the quote currency); a fee taken from the base asset a buy received is
  ``Fill.fee_base`` as well.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

from trading.core.client_ids import symbol_of
from trading.core.errors import ConfigError, OrderRejected, VenueError
from trading.core.reports import AccountReport, Fill, OrderReport, OrderUpdate, UpdateQueue
from trading.venues.binance.connection import BinanceVenue, TransientVenueError
from trading.venues.binance.filters import SymbolRules
from trading.venues.binance.order_types import OcoIntent, OrderIntent

log = logging.getLogger(__name__)

STATUS = {"NEW": "accepted", "PARTIALLY_FILLED": "partial", "FILLED": "filled",
          "CANCELED": "canceled", "PENDING_CANCEL": "canceled", "EXPIRED": "expired",
          "EXPIRED_IN_MATCH": "expired", "REJECTED": "rejected"}
FINAL = ("filled", "canceled", "expired", "rejected")
PLACE_ATTEMPTS = 6
STOP_SECONDS = 3.0  # how long stop() waits for the stream and polling to end
EPSILON = 1e-12
# a base-asset fee rounds the balance off what the bot counted by a fraction of a percent
BALANCE_TOLERANCE = 0.002


@dataclass
class _Tracked:
    symbol: str = ""
    order_id: str | None = None
    status: str = "sent"
    trade_ids: set[str] = field(default_factory=set)
    filled: float = 0.0


class OrderGateway:
    """See the module docstring. One per broker; ``start()`` before anything else."""

    def __init__(self, venue: BinanceVenue, symbols: Sequence[str] | str,
                 poll_seconds: float = 1.0) -> None:
        self.venue = venue
        names = (symbols,) if isinstance(symbols, str) else tuple(symbols)
        self.symbols = tuple(s.upper() for s in names)
        if not self.symbols:
            raise ConfigError("the Binance order gateway needs the symbols it trades")
        self.poll_seconds = poll_seconds
        self.updates: UpdateQueue[OrderUpdate | dict[str, AccountReport]] = UpdateQueue()
        self.rules: dict[str, SymbolRules] = {}  # each symbol's, read at start
        self.accounts: dict[str, AccountReport] | None = None
        self._account_ms = 0  # the balances read at start-up hold every fill up to this time
        self.stream_up = False
        self.resubscribes = 0
        self.reports = 0  # execution reports received on the user data stream
        self.look_up_first: set[str] = set()  # client ids that may already be on the exchange
        self._tracked: dict[str, _Tracked] = {}
        self._prices: dict[str, float] = {}
        self._lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def quote(self) -> str:
        """The quote asset every symbol trades against: the bot's cash."""
        return self.rules[self.symbols[0]].quote

    # -- start-up ----------------------------------------------------------------------------
    async def start(self) -> dict[str, AccountReport]:
        """Connect, read each symbol's rules, the balances, open orders and prices; start
        following fills."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.accounts is not None:
                return self.accounts
            await self.venue.start()
            client = self._client(rules=False)
            info = await self.venue.request("exchange info", client.get_exchange_info)
            self.rules = {s: SymbolRules.from_exchange_info(info, s) for s in self.symbols}
            quotes = {r.quote for r in self.rules.values()}
            if len(quotes) > 1:
                listed = ", ".join(f"{s} in {r.quote}" for s, r in self.rules.items())
                raise ConfigError(f"trading.symbols: a basket trades from one cash balance, so "
                                  f"its symbols must share one quote asset; Binance quotes "
                                  f"{listed}")
            self.accounts = await self._read_account()
            first = next(iter(self.accounts.values()))
            self._account_ms = int(first.time * 1000)
            self.look_up_first.update(o.client_id for a in self.accounts.values()
                                      for o in a.open_orders)
            self._tasks = [asyncio.create_task(self._user_stream(), name="binance user stream"),
                           asyncio.create_task(self._poll_loop(), name="binance order polling")]
            return self.accounts

    async def _read_account(self) -> dict[str, AccountReport]:
        """Balances, then each symbol's open orders and price now, as the kernel's reports."""
        client = self._client()
        account = await self.venue.request("account", client.get_account)
        balances = {b["asset"]: (float(b["free"]), float(b["locked"]))
                    for b in account.get("balances", ())}
        taken_at = self.venue.server_now_ms()
        reports = {}
        for symbol in self.symbols:
            rules = self.rules[symbol]
            opened = await self.venue.request(f"open orders of {symbol}", client.get_open_orders,
                                              symbol=symbol)
            ticker = await self.venue.request(f"price of {symbol}", client.get_symbol_ticker,
                                              symbol=symbol)
            base = balances.get(rules.base, (0.0, 0.0))
            quote = balances.get(rules.quote, (0.0, 0.0))
            price = float(ticker["price"])
            reports[symbol] = AccountReport(
                symbol=symbol, position=base[0] + base[1], price=price, cash=quote[0],
                cash_locked=quote[1], open_orders=tuple(order_report(o) for o in opened),
                time=taken_at / 1000, currency=rules.quote, step=float(rules.step),
                relative_tolerance=BALANCE_TOLERANCE,
                dust=max(float(rules.min_qty), float(rules.step),
                         float(rules.min_notional) / price if price > 0 else 0.0))
        return reports

    async def refresh_account(self) -> None:
        """The account read again, on ``updates`` after every update before it."""
        self.updates.put(await self._read_account())

    async def stop(self) -> None:
        """Stop following orders: the stream and the polling are cancelled and given
        ``STOP_SECONDS`` to end (closing the user socket can hang in python-binance while it
        unsubscribes; what is left is cancelled with the I/O loop)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.debug("%s ended with %s", task.get_name(), task.exception())
        if pending:
            log.debug("%s still closing after %gs", ", ".join(t.get_name() for t in pending),
                      STOP_SECONDS)

    def _client(self, rules: bool = True) -> Any:
        """The REST client (with the symbols' rules read, unless ``rules`` is False)."""
        client = self.venue.client
        if client is None or (rules and not self.rules):
            raise VenueError("the Binance connection is closed")
        return client

    def symbol_for(self, client_id: str) -> str:
        """The symbol of one of the bot's orders: the one it was placed on, else the one its
        id's tag names (an id of no symbol of the bot: the first, where Binance answers that
        it does not know it)."""
        tracked = self._tracked.get(client_id)
        if tracked is not None and tracked.symbol:
            return tracked.symbol
        return symbol_of(client_id, self.symbols) or self.symbols[0]

    def _track(self, client_id: str, symbol: str) -> _Tracked:
        tracked = self._tracked.setdefault(client_id, _Tracked())
        tracked.symbol = tracked.symbol or symbol
        return tracked

    # -- orders ------------------------------------------------------------------------------
    async def place(self, intent: OrderIntent) -> None:
        """Send ``intent`` once: look it up first when it may exist, and after an unclear answer.

        Never raises: whatever happens ends in an update for the broker."""
        try:
            await self._place(intent)
        except VenueError as exc:
            self._unconfirmed(intent.client_id, exc)

    async def place_oco(self, intent: OcoIntent) -> None:
        """Send a protective OCO pair (both legs are followed by their own client ids)."""
        try:
            await self._place_oco(intent)
        except VenueError as exc:
            for cid in (intent.stop_loss_id, intent.take_profit_id):
                self._unconfirmed(cid, exc)

    def _unconfirmed(self, client_id: str, exc: Exception) -> None:
        log.error("order %s: Binance could not be asked (%s); reported as rejected; it is looked "
                  "up before any re-send", client_id, exc)
        self.look_up_first.add(client_id)
        tracked = self._track(client_id, self.symbol_for(client_id))
        self._emit(client_id, tracked, "rejected", (), message=f"Binance could not confirm it: {exc}")

    async def _place(self, intent: OrderIntent) -> None:
        client = self._client()
        symbol = intent.symbol or self.symbols[0]
        tracked = self._track(intent.client_id, symbol)
        check_first = intent.client_id in self.look_up_first
        loop = asyncio.get_running_loop()
        for attempt in range(PLACE_ATTEMPTS):
            sent_at = loop.time()
            if check_first:
                existing = await self._lookup(intent.client_id)
                if existing is not None:
                    log.info("order %s is already on Binance (%s): following it, not re-sending",
                             intent.client_id, existing["status"])
                    await self._absorb_order(intent.client_id, existing)
                    return
            try:
                answer = await self.venue.request(f"order {intent.client_id}", client.create_order,
                                                  retry_transient=False,
                                                  **intent.params(symbol))
            except OrderRejected as exc:
                self._emit(intent.client_id, tracked, "rejected", (), message=str(exc))
                return
            except TransientVenueError as exc:
                # a request still in flight may yet be executed, until its recvWindow has
                # passed: only then does "not found" mean "never placed"
                settled = sent_at + self.venue.recv_window_ms / 1000 + 0.5 - loop.time()
                log.warning("order %s: no clear answer (%s); looking it up before re-sending "
                            "(in %.1fs, once Binance would refuse the first request as too old)",
                            intent.client_id, exc, max(settled, 0.1))
                check_first = True
                await asyncio.sleep(max(settled, min(2.0, 0.1 * 2 ** attempt)))
                continue
            except VenueError as exc:
                self._emit(intent.client_id, tracked, "rejected", (), message=str(exc))
                return
            await self._absorb_answer(intent.client_id, answer)
            return
        self._emit(intent.client_id, tracked, "rejected", (),
                   message=f"Binance gave no clear answer to order {intent.client_id} after "
                           f"{PLACE_ATTEMPTS} attempts; it was not placed")

    async def _place_oco(self, intent: OcoIntent) -> None:
        client = self._client()
        symbol = intent.symbol or self.symbols[0]
        for cid in (intent.stop_loss_id, intent.take_profit_id):
            self._track(cid, symbol)
        if intent.stop_loss_id in self.look_up_first:
            existing = await self._lookup(intent.stop_loss_id)
            partner = await self._lookup(intent.take_profit_id)
            if existing is not None and partner is not None:
                log.info("OCO %s / %s is already on Binance (%s / %s): following it, not "
                         "re-sending", intent.stop_loss_id, intent.take_profit_id,
                         existing["status"], partner["status"])
                await self._absorb_order(intent.stop_loss_id, existing)
                await self._absorb_order(intent.take_profit_id, partner)
                return
        try:
            answer = await self.venue.request(f"OCO {intent.stop_loss_id}", client.create_oco_order,
                                              **intent.params(symbol))
        except VenueError as exc:
            for cid in (intent.stop_loss_id, intent.take_profit_id):
                self._emit(cid, self._tracked[cid], "rejected", (), message=str(exc))
            return
        for report in answer.get("orderReports", ()):
            await self._absorb_order(report["clientOrderId"], report)

    async def cancel(self, client_id: str) -> None:
        """Cancel an open order; an order already gone is reported as it is on Binance."""
        client = self._client()
        tracked = self._track(client_id, self.symbol_for(client_id))
        if tracked.status in FINAL:
            return
        try:
            answer = await self.venue.request(f"cancel {client_id}", client.cancel_order,
                                              symbol=tracked.symbol, origClientOrderId=client_id)
        except VenueError as exc:
            try:
                existing = await self._lookup(client_id)
            except VenueError as again:
                log.error("cancel %s: Binance could not be asked (%s); polling will tell",
                          client_id, again)
                return
            if existing is None:
                self._emit(client_id, tracked, "canceled", (), message=str(exc))
            else:
                await self._absorb_order(client_id, existing)
            return
        await self._absorb_order(client_id, answer)

    async def _lookup(self, client_id: str) -> dict[str, Any] | None:
        client = self._client()
        try:
            return await self.venue.request(f"order lookup {client_id}", client.get_order,
                                            symbol=self.symbol_for(client_id),
                                            origClientOrderId=client_id)
        except OrderRejected:
            raise
        except VenueError as exc:
            if "-2013" in str(exc):  # Order does not exist.
                return None
            raise

    async def report(self, client_id: str) -> OrderReport | None:
        """The order with this client id as Binance knows it (None when it never arrived)."""
        found = await self._lookup(client_id)
        return order_report(found) if found is not None else None

    def may_exist(self, client_ids: Any) -> None:
        """These orders may be on Binance already (sent before a restart): each is looked up
        before it is sent, and followed if it is there."""
        self.look_up_first.update(client_ids)

    # -- merging what Binance says -----------------------------------------------------------
    async def _absorb_answer(self, client_id: str, answer: dict[str, Any]) -> None:
        symbol = self.symbol_for(client_id)
        fills = []
        for f in answer.get("fills", ()):
            fills.append(await self._fill(symbol, int(f["tradeId"]), answer["side"],
                                          float(f["qty"]), float(f["price"]),
                                          float(f["commission"]), f["commissionAsset"],
                                          int(answer.get("transactTime", 0))))
        self._apply(client_id, str(answer["orderId"]), answer["status"], fills,
                    float(answer.get("executedQty", 0)))

    async def _absorb_order(self, client_id: str, order: dict[str, Any]) -> None:
        """An order object (lookup, poll, cancel answer): fetch its trades when it has new fills."""
        tracked = self._track(client_id, order.get("symbol") or self.symbol_for(client_id))
        executed = float(order.get("executedQty", 0))
        fills = []
        if executed > tracked.filled + EPSILON:
            client = self._client()
            trades = await self.venue.request(f"trades of {client_id}", client.get_my_trades,
                                              symbol=tracked.symbol, orderId=order["orderId"])
            for t in trades:
                fills.append(await self._fill(tracked.symbol, int(t["id"]),
                                              "BUY" if t["isBuyer"] else "SELL",
                                              float(t["qty"]), float(t["price"]),
                                              float(t["commission"]), t["commissionAsset"],
                                              int(t.get("time", 0))))
        self._apply(client_id, str(order["orderId"]), order["status"], fills, executed)

    async def _on_report(self, report: dict[str, Any]) -> None:
        self.reports += 1
        client_id = report.get("C") or report.get("c")
        symbol = report.get("s")
        tracked = self._tracked.get(client_id)
        if tracked is None or symbol != tracked.symbol:
            return  # an order this bot does not follow (another symbol's, another program's)
        fills = []
        if report.get("x") == "TRADE":
            fills.append(await self._fill(symbol, int(report["t"]), report["S"], float(report["l"]),
                                          float(report["L"]), float(report["n"] or 0),
                                          report.get("N") or "", int(report.get("T", 0))))
        self._apply(client_id, str(report["i"]), report["X"], fills, float(report["z"]),
                    message=report.get("r", "") if report.get("X") == "REJECTED" else "")

    async def _fill(self, symbol: str, trade_id: int, side: str, qty: float, price: float,
                    fee: float, asset: str, time_ms: int) -> Fill:
        rules = self.rules[symbol]
        fee_base = fee if asset == rules.base else 0.0
        if asset == rules.quote or not fee:
            fee_quote = fee
        elif asset == rules.base:
            fee_quote = fee * price
        else:
            fee_quote = fee * await self._price_of(asset)
        # a fill Binance made before the balances were read at start-up is already in them
        before_start = bool(time_ms and self._account_ms and time_ms <= self._account_ms)
        elsewhere = fee_quote if asset not in (rules.base, rules.quote) else 0.0
        return Fill(str(trade_id), qty, price, fee=fee_quote, fee_base=fee_base,
                    time=time_ms / 1000, before_start=before_start, fee_elsewhere=elsewhere)

    async def _price_of(self, asset: str) -> float:
        """An asset's price in the quote currency (BNB fees), cached for the run."""
        if asset not in self._prices:
            client = self._client()
            try:
                ticker = await self.venue.request(f"{asset} price", client.get_symbol_ticker,
                                                  symbol=f"{asset}{self.quote}")
                self._prices[asset] = float(ticker["price"])
            except VenueError as exc:
                log.warning("cannot value a fee paid in %s (%s); counting it as 0 %s",
                            asset, exc, self.quote)
                return 0.0
        return self._prices[asset]

    def _apply(self, client_id: str, order_id: str, venue_status: str, fills: list[Fill],
               executed: float, message: str = "") -> None:
        tracked = self._track(client_id, self.symbol_for(client_id))
        tracked.order_id = order_id
        new = tuple(f for f in fills if f.fill_id not in tracked.trade_ids)
        for f in new:
            tracked.trade_ids.add(f.fill_id)
            tracked.filled += f.quantity
        status = STATUS.get(venue_status, "accepted")
        if status == "filled" and tracked.filled + EPSILON < executed:
            status = "partial"  # Binance says filled; wait for its remaining trades
        if tracked.status in FINAL or (not new and status == tracked.status):
            return
        self._emit(client_id, tracked, status, new, order_id, message)

    def _emit(self, client_id: str, tracked: _Tracked, status: str, fills: tuple[Fill, ...],
              order_id: str | None = None, message: str = "") -> None:
        tracked.status = status
        self.updates.put(OrderUpdate(client_id, status, order_id or tracked.order_id, fills, message))

    # -- following fills ---------------------------------------------------------------------
    async def _user_stream(self) -> None:
        attempt = 0
        while True:
            socket = None
            try:
                await self.venue.ws_api_settled()
                socket = self.venue.user_socket()
                await socket.__aenter__()
                self.stream_up = True
                self.venue.stream_states["user data"] = "LIVE"
                resubscribed = attempt > 0
                if resubscribed:
                    self.resubscribes += 1
                    log.info("Binance user data stream re-subscribed")
                attempt = 0
                await self._poll_open()  # what happened while it was down
                if resubscribed:  # every order caught up: the broker compares the position
                    await self.refresh_account()
                while True:
                    message = await socket.recv()
                    if isinstance(message, dict) and message.get("e") == "error":
                        raise VenueError(f"{message.get('type')}: {message.get('m')}")
                    if isinstance(message, dict) and message.get("e") == "executionReport":
                        await self._on_report(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.venue.stream_states["user data"] = "CONNBROKEN"
                if "-1021" in str(exc):  # the subscription is signed: the clock must agree
                    with contextlib.suppress(Exception):
                        await self.venue.resync_clock()
                log.warning("Binance user data stream down (%s); polling open orders every %gs "
                            "until it is back", exc, self.poll_seconds)
            finally:
                self.stream_up = False
                if socket is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(socket.__aexit__(None, None, None), timeout=2.0)
            attempt += 1
            await asyncio.sleep(min(10.0, 0.25 * 2 ** attempt))

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            if self.stream_up:
                continue
            try:
                await self._poll_open()
            except VenueError as exc:
                log.warning("polling open orders failed: %s", exc)

    async def _poll_open(self) -> None:
        """Ask Binance about every order this bot follows that is not final yet."""
        for client_id, tracked in list(self._tracked.items()):
            if tracked.status in FINAL or tracked.status == "sent":
                continue
            order = await self._lookup(client_id)
            if order is not None:
                await self._absorb_order(client_id, order)


def order_report(order: dict[str, Any]) -> OrderReport:
    """An order object of Binance's (a lookup, a poll, an open order) as the kernel's report."""
    return OrderReport(client_id=order.get("clientOrderId", ""), side=order.get("side", ""),
                       kind=order.get("type", ""), quantity=float(order.get("origQty", 0)),
                       filled=float(order.get("executedQty", 0)),
                       status=STATUS.get(order.get("status", ""), "accepted"),
                       venue_order_id=str(order["orderId"]) if "orderId" in order else None)

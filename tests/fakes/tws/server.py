"""``FakeTWS``: the loopback TWS / IB Gateway (asyncio TCP on 127.0.0.1, its own thread and loop)
and the controls a test drives it with. See the package docstring for the controls."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Iterable, Sequence, TypeVar

from fakes.tws.contracts import DEFAULT_CONTRACTS, ContractRequest, ContractSpec, lookup
from fakes.tws.desk import OrderDesk
from fakes.tws.faults import CALL_TIMEOUT, FaultControls
from fakes.tws.market import Bar, HistoricalRequest, QuoteRequest, RealtimeRequest, Series, \
    guess_step, merged, next_forming, realtime_fields, tick_fields, update_fields
from fakes.tws.orders import Book, ExecutionRecord, FillPolicy, OrderRecord
from fakes.tws.session import Session

T = TypeVar("T")
PAPER_ACCOUNT = "DU1234567"
LIVE_ACCOUNT = "U7654321"
SERVER_VERSION = 176


class FakeTWS(FaultControls):
    """A fake TWS. ``accounts``: the managed accounts (paper ``DU1234567`` by default; pass
    ``[LIVE_ACCOUNT]`` for a live one). ``contracts``: the security master. ``cash``: each
    account's starting cash. ``tz``: TWS's time zone (dates in formatDate 1 and fills)."""

    def __init__(self, accounts: Sequence[str] = (PAPER_ACCOUNT,),
                 contracts: Iterable[ContractSpec] = DEFAULT_CONTRACTS, cash: float = 100_000.0,
                 server_version: int = SERVER_VERSION, tz: str = "UTC",
                 farm_messages: bool = True) -> None:
        self.accounts = list(accounts)
        self.contracts = list(contracts)
        self.server_version = server_version
        self.tz = tz
        self.farm_messages = farm_messages
        self.book = Book(self.accounts, cash)
        self.desk = OrderDesk(self)
        self.series: dict[int, Series] = {}
        self.historical: list[HistoricalRequest] = []
        self.realtime: list[RealtimeRequest] = []
        self.quotes: list[QuoteRequest] = []
        self.received: list[tuple[int | None, list[str]]] = []
        self.unhandled: list[tuple[int | None, list[str]]] = []  # requests it does not serve
        self.failures: list[tuple[list[str], str]] = []  # requests it failed on (error 321 sent)
        self.connections = 0
        self.refused_client_ids: list[int] = []
        self.fill_delay = 0.0
        self.hold_handshakes = False  # True: accept connections but never answer the greeting
        # on_order(phase, sent): a test's hook on every placeOrder, on the fake's loop when it
        # arrives ("received") and once TWS has answered it ("answered"), e.g. to kill the bot
        self.on_order: Callable[[str, dict[str, object]], None] | None = None
        self.changed = threading.Condition()
        self._faults: dict[str, list[tuple[int, str]]] = {}
        self._sessions: list[Session] = []
        self._server: asyncio.base_events.Server | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self.loop = asyncio.new_event_loop()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeTWS":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-tws",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake TWS did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._listen())
        ready.set()
        self.loop.run_forever()
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self._sessions.append(session)
        self.connections += 1
        await session.run()

    def stop(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            return

        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for session in list(self._sessions):
                session.close()
            await asyncio.sleep(0.02)  # let the sessions see their sockets close

        try:
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(CALL_TIMEOUT)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(CALL_TIMEOUT)

    def __enter__(self) -> "FakeTWS":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the fake's loop (where all its state changes) and return its result;
        before ``start()`` (or on the loop's own thread) it runs at once."""
        if self._thread is None or not self._thread.is_alive() \
                or threading.current_thread() is self._thread:
            return fn(*args, **kwargs)

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT)

    # -- used by sessions (loop thread) ------------------------------------------------------
    def live_sessions(self) -> list[Session]:
        return [s for s in self._sessions if s.client_id is not None and not s.closed]

    def admit(self, session: Session, client_id: int) -> bool:
        if any(s.client_id == client_id for s in self.live_sessions() if s is not session):
            self.refused_client_ids.append(client_id)
            return False
        return True

    def forget(self, session: Session) -> None:
        if session in self._sessions:
            self._sessions.remove(session)
        self._notify()

    def record(self, client_id: int | None, fields: list[str]) -> None:
        self.received.append((client_id, fields))
        self._notify()

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def next_valid_id(self) -> int:
        return self.book.max_order_id() + 1

    def lookup(self, req: ContractRequest) -> list[ContractSpec]:
        return lookup(self.contracts, req)

    def series_of(self, con_id: int) -> Series:
        return self.series.setdefault(con_id, Series([], None, 60))

    def prices(self) -> dict[int, float]:
        prices = {c: s.last_price for c, s in self.series.items() if s.last_price is not None}
        if self.book.policy.market_price is not None:
            for pos in self.book.positions.values():
                prices[pos.spec.con_id] = self.book.policy.market_price
        return prices

    def market_price(self, con_id: int) -> float | None:
        if self.book.policy.market_price is not None:
            return self.book.policy.market_price
        return self.series_of(con_id).last_price

    def take_fault(self, kind: str) -> tuple[int, str] | None:
        queue = self._faults.get(kind)
        return queue.pop(0) if queue else None

    def place_order(self, session: Session, fields: list[str]) -> None:
        self.desk.place(session, fields)

    def cancel_order(self, session: Session, order_id: int) -> None:
        self.desk.cancel(session, order_id)

    def global_cancel(self) -> None:
        self.desk.global_cancel()

    # -- controls: the market ----------------------------------------------------------------
    def spec(self, symbol: str | int) -> ContractSpec:
        """The contract with this conId, or the only one with this symbol."""
        found = [c for c in self.contracts if c.con_id == symbol or c.symbol == symbol
                 or c.local == symbol]
        if len(found) != 1:
            raise KeyError(f"{symbol!r} names {len(found)} contracts of the fake TWS")
        return found[0]

    def add_contract(self, spec: ContractSpec) -> None:
        self.call(self.contracts.append, spec)

    def set_bars(self, symbol: str | int, bars: Sequence[Bar], forming: Bar | None = None,
                 step: int | None = None) -> None:
        """The contract's history: ``bars`` closed, ``forming`` the bar now forming (None: the
        next bar starts forming only with ``update_forming`` or ``push_bar``)."""
        con_id = self.spec(symbol).con_id
        series = Series(bars, forming, step or guess_step(bars))
        self.call(self.series.__setitem__, con_id, series)

    def push_bar(self, symbol: str | int, bar: Bar, open_next: bool = True) -> None:
        """Close ``bar``: keepUpToDate subscribers get it with its final values, then (with
        ``open_next``) the next bar starting at its close, which tells them ``bar`` closed.
        Working orders its range crosses fill (auto policy)."""
        self.call(self._push_bar, self.spec(symbol).con_id, bar, open_next)

    def _push_bar(self, con_id: int, bar: Bar, open_next: bool) -> None:
        series = self.series_of(con_id)
        series.tick = None
        series.closed = [b for b in series.closed if b.ts != bar.ts] + [bar]
        series.forming = None
        self._broadcast_bar(con_id, bar)
        self.desk.on_bar(con_id, bar.open, bar.high, bar.low, bar.close)
        if open_next:
            series.forming = next_forming(bar, series.step)
            self._broadcast_bar(con_id, series.forming)

    def update_forming(self, symbol: str | int, close: float, high: float | None = None,
                       low: float | None = None, volume: float | None = None,
                       ts: float | None = None) -> Bar:
        """Trade in the forming bar up to ``close`` (and ``high``/``low``); subscribers get the
        bar. A ``ts`` later than the forming bar's starts a new bar (the old one is closed)."""
        return self.call(self._update_forming, self.spec(symbol).con_id, close, high, low,
                         volume, ts)

    def _update_forming(self, con_id: int, close: float, high: float | None, low: float | None,
                        volume: float | None, ts: float | None) -> Bar:
        series = self.series_of(con_id)
        before = series.last_price if series.last_price is not None else close
        series.tick = None
        forming = series.forming
        if forming is None or (ts is not None and ts > forming.ts):
            if forming is not None:
                series.closed.append(forming)
            start = ts if ts is not None else (series.closed[-1].ts + series.step
                                              if series.closed else time.time() // 60 * 60)
            forming = Bar(start, before, before, before, before, 0.0)
        series.forming = merged(forming, close, high, low, volume)
        self._broadcast_bar(con_id, series.forming)
        self.desk.on_bar(con_id, before, max(before, close, high or close),
                         min(before, close, low if low is not None else close), close)
        return series.forming

    def send_quote(self, req: QuoteRequest) -> None:
        price = self.market_price(req.con_id)
        if price is not None and req.session is not None and not req.session.closed:
            for fields in tick_fields(req, price, self.spec(req.con_id).min_tick):
                req.session.send(*fields)

    def _broadcast_quotes(self, con_id: int) -> None:
        for req in self.quotes:
            if req.con_id == con_id and not req.cancelled:
                self.send_quote(req)

    def _broadcast_bar(self, con_id: int, bar: Bar) -> None:
        self._broadcast_quotes(con_id)
        step = self.series_of(con_id).step
        for hist in self.historical:
            session = hist.session
            if hist.con_id == con_id and hist.keep_up_to_date and not hist.cancelled \
                    and session is not None and not session.closed:
                session.send(*update_fields(hist, bar, step, self.tz))

    def push_realtime_bar(self, symbol: str | int, bar: Bar) -> None:
        """A 5-second bar to reqRealTimeBars subscribers; its range fills working orders."""
        def run(con_id: int) -> None:
            self.series_of(con_id).tick = bar.close
            for req in self.realtime:
                if req.con_id == con_id and not req.cancelled and req.session is not None \
                        and not req.session.closed:
                    req.session.send(*realtime_fields(req, bar))
            self._broadcast_quotes(con_id)
            self.desk.on_bar(con_id, bar.open, bar.high, bar.low, bar.close)
        self.call(run, self.spec(symbol).con_id)

    # -- controls: orders --------------------------------------------------------------------
    def set_fill_policy(self, policy: FillPolicy | None = None, **changes: Any) -> FillPolicy:
        """Replace the fill policy, or change some of its fields (``auto``, ``parts``,
        ``market_price``, ``per_share``, ``minimum``)."""
        def apply() -> FillPolicy:
            if policy is not None:
                self.book.policy = policy
            for key, value in changes.items():
                setattr(self.book.policy, key, value)
            return self.book.policy
        return self.call(apply)

    def fill(self, order_id: int | None = None, *, ref: str | None = None,
             client_id: int | None = None, quantity: float | None = None,
             price: float | None = None, parts: int | None = None) -> list[ExecutionRecord]:
        """Fill a working order (by order id, or by orderRef) now: ``quantity`` (default: the
        rest) at ``price`` (default: the market price) in ``parts`` executions."""
        def run() -> list[ExecutionRecord]:
            order = self._find(order_id, ref, client_id)
            at = price if price is not None else self.market_price(order.spec.con_id)
            if at is None:
                raise ValueError(f"no price to fill order {order.order_id} at: pass price=")
            return self.desk.fill(order, quantity or order.remaining, at, parts)
        return self.call(run)

    def _find(self, order_id: int | None, ref: str | None, client_id: int | None) -> OrderRecord:
        for order in reversed(list(self.book.orders.values())):
            if (order_id is None or order.order_id == order_id) \
                    and (ref is None or order.order_ref == ref) \
                    and (client_id is None or order.client_id == client_id) and not order.done:
                return order
        raise KeyError(f"no working order with id {order_id} ref {ref!r}")

    def reject_next(self, reason: str = "Insufficient funds", code: int = 201,
                    status: str = "Cancelled", order_type: str | None = None) -> None:
        """The next new order (of ``order_type``: MKT, LMT, STP; any when None) is rejected:
        error ``code`` on its order id, then orderStatus ``status`` (TWS sends Cancelled or
        Inactive)."""
        self.call(self.book.reject_next.append, (code, reason, status, order_type))

    def cancel(self, order_id: int | None = None, *, ref: str | None = None,
               why: str = "Cancelled by TWS") -> None:
        """TWS cancels a working order itself (e.g. a DAY order at the close)."""
        self.call(lambda: self.desk.cancel_order(self._find(order_id, ref, None), why))

    def orders(self) -> list[OrderRecord]:
        """Every order the fake holds, oldest first (copies are not made: read, don't write)."""
        return self.call(lambda: list(self.book.orders.values()))

    def executions(self) -> list[ExecutionRecord]:
        return self.call(lambda: list(self.book.executions))

    def positions(self) -> dict[tuple[str, int], float]:
        """(account, conId) -> quantity."""
        return self.call(lambda: {k: p.quantity for k, p in self.book.positions.items()})

    def cash(self, account: str | None = None) -> float:
        return self.call(lambda: self.book.cash[account or self.accounts[0]])

    # -- for assertions ----------------------------------------------------------------------
    def clients(self) -> list[int]:
        """Client ids connected now."""
        return self.call(lambda: [s.client_id for s in self.live_sessions()])

    def requests(self, msg_id: int) -> list[list[str]]:
        """Every message with this id the fake received (fields as sent)."""
        return self.call(lambda: [f for _, f in self.received if f and f[0] == str(msg_id)])

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Wait (bounded) until ``predicate()`` holds; re-checked whenever a message arrives.
        The predicate runs outside the fake's lock, so it may use the accessors above."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self.changed:
                self.changed.wait(min(left, 0.05))
        return True

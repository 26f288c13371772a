"""``IbkrVenue``: the bot's one connection to TWS / IB Gateway, shared by its feed and its broker.

Built on ib_async's ``IB`` and living on the bot's I/O thread: every coroutine here runs on that
loop. ``start()`` connects (with retries), reads the managed account and qualifies the traded
contract (a basket: every symbol's, ``contracts`` by symbol); after that the venue keeps the
connection up by itself:

- the socket drops (TWS restarts every day and drops its clients): reconnect with capped backoff,
  forever, until ``close()``; a reconnect re-reads open and completed orders and executions;
- 1100 (TWS lost IB's servers): the link is down until 1101 / 1102 say it is restored;
- farm status messages (2103-2158) are logged at INFO, never treated as errors;
- 326 (client id in use) at start is a clear error naming the setting to change.

The feed and the broker hear "lost" and "restored" through ``add_listener`` (on the I/O thread),
and wait for a usable connection with ``wait_ready``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Callable, Sequence

from ib_async import IB, Contract

from trading.core.errors import VenueError
from trading.venues.ibkr import codes
from trading.venues.connection import IOBound
from trading.venues.ibkr.contracts import ContractSpec, choose, describe_contract
from trading.venues.ibkr.settings import GatewayAddress, is_paper_account

log = logging.getLogger(__name__)
# ib_async logs every message code TWS sends, farm status included, some as ERROR; the venue says
# what each means for the bot, so the library's own lines show only when debugging
_LIBRARY_LOG = logging.getLogger("ib_async")

FIRST_RETRY_SECONDS = 0.25


class ClientIdInUse(VenueError):
    """TWS refused the connection: another API client uses this client id (code 326)."""


class IbkrVenue(IOBound):
    """One TWS / IB Gateway connection: see the module docstring.

    ``address``: host, port and client id (``settings.resolve_address``); ``spec``: the traded
    contract, qualified at start; ``others``: a basket's other symbols' contracts, qualified at
    start too (``contracts`` and ``min_ticks`` hold every symbol's, by its symbol). ``submit``
    hands a coroutine to the I/O thread from any thread (set by the runtime with ``bind``).
    """

    NAME = "the Interactive Brokers connection"

    def __init__(self, address: GatewayAddress, spec: ContractSpec | None, *,
                 connect_timeout: float = 10.0, max_attempts: int = 5,
                 backoff_cap: float = 30.0, link_grace: float = 60.0,
                 others: Sequence[ContractSpec] = ()) -> None:
        self.address = address
        self.spec = spec
        self.specs: tuple[ContractSpec, ...] = ((spec,) if spec is not None else ()) + tuple(others)
        self.contracts: dict[str, Contract] = {}  # every symbol's, qualified at start
        self.min_ticks: dict[str, float] = {}
        self.connect_timeout = connect_timeout
        self.max_attempts = max_attempts
        self.backoff_cap = backoff_cap
        self.link_grace = link_grace  # seconds to wait for 1101/1102 after 1100, then reconnect
        self.ib = IB()
        self.ib.RaiseRequestErrors = True  # a refused request ends with IB's code and message
        self.contract: Contract | None = None
        self.min_tick = 0.0  # the contract's price grid (0: unknown, prices go out as they are)
        self.account = ""
        self.accounts: list[str] = []
        self.link_up = False  # TWS's own link to IB (1100 takes it down, 1101/1102 restore it)
        self.last_error = ""
        self.reconcile_result: str | None = None
        self.stream_states: dict[str, str] = {}
        self.counters = {"connects": 0, "drops": 0, "connectivity_lost": 0, "restored": 0,
                         "farm_messages": 0}
        self._lock: asyncio.Lock | None = None
        self._ready: asyncio.Event | None = None
        self._started = False
        self._closing = False
        self._clash = False
        self._reconnect_task: asyncio.Task | None = None
        self._link_watch: asyncio.TimerHandle | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._connected_at = 0.0
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected
        _LIBRARY_LOG.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG)
                              else logging.CRITICAL)

    # -- lifecycle (I/O thread) --------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.ib.isConnected()

    @property
    def ready(self) -> bool:
        """Connected, and TWS reaches IB: requests and orders can go out."""
        return self.connected and self.link_up

    @property
    def paper(self) -> bool:
        """True for a paper trading account (DU...)."""
        return is_paper_account(self.account)

    def add_listener(self, callback: Callable[[str], None]) -> None:
        """``callback("lost")`` / ``callback("restored")`` on the I/O thread."""
        self._listeners.append(callback)

    async def start(self) -> None:
        """Connect once (later calls return at once); retries until ``max_attempts`` fail.

        Raises VenueError when TWS cannot be reached, ClientIdInUse at once for code 326, and
        ConfigError for a contract IB does not know or finds ambiguous."""
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._ready = asyncio.Event()
        async with self._lock:
            if self._started:
                return
            attempt = 0
            while True:
                try:
                    await self._connect_once()
                    break
                except ClientIdInUse:
                    raise
                except VenueError as exc:
                    attempt += 1
                    if attempt >= self.max_attempts:
                        raise VenueError(f"cannot reach TWS / IB Gateway at "
                                         f"{self.address.host}:{self.address.port} after "
                                         f"{attempt} attempts ({exc}); is it running, with the "
                                         "API socket enabled on that port?") from exc
                    wait = self._backoff(attempt)
                    log.warning("%s; retrying in %.1fs", exc, wait)
                    await asyncio.sleep(wait)
            if self.contract is None and self.spec is not None:
                self.contract = await self._qualify(self.spec)
                self.contracts[self.spec.symbol] = self.contract
            for other in self.specs[1:]:
                if other.symbol not in self.contracts:
                    self.contracts[other.symbol] = await self._qualify(other, traded=False)
            self._started = True

    async def close(self) -> None:
        """Disconnect and stop reconnecting (idempotent)."""
        self._closing = True
        if self._link_watch is not None:
            self._link_watch.cancel()
            self._link_watch = None
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ib.isConnected():
            self.ib.disconnect()
        if self._ready is not None:
            self._ready.clear()

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until requests can go out (connected, link to IB up); False after ``timeout``."""
        if self._ready is None:
            await self.start()
        assert self._ready is not None
        if self._ready.is_set():
            return True
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    # -- connecting --------------------------------------------------------------------------
    async def _connect_once(self) -> None:
        a = self.address
        self._clash = False
        refused = asyncio.Event()

        def on_api_error(message: str) -> None:
            refused.set()

        self.ib.client.apiError += on_api_error
        connect = asyncio.ensure_future(self.ib.connectAsync(
            a.host, a.port, clientId=a.client_id, timeout=self.connect_timeout))
        failed = asyncio.ensure_future(refused.wait())
        try:
            await asyncio.wait({connect, failed}, timeout=self.connect_timeout * 3,
                               return_when=asyncio.FIRST_COMPLETED)
            if not connect.done():
                connect.cancel()
                with contextlib.suppress(BaseException):
                    await connect
            problem = None if connect.done() and not connect.cancelled() else "no answer"
            if problem is None and connect.exception() is not None:
                exc = connect.exception()
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ") if str(exc) else \
                    type(exc).__name__
        finally:
            failed.cancel()
            self.ib.client.apiError -= on_api_error
        if self._clash:
            self.last_error = "client id in use"
            with contextlib.suppress(Exception):
                self.ib.disconnect()
            raise ClientIdInUse(
                f"TWS / IB Gateway at {a.host}:{a.port} refused client id {a.client_id}: "
                "another program (or another bot) is connected with it. Give every connection "
                "its own id: set ibkr.client_id in the config or IBKR_CLIENT_ID in the "
                "environment")
        if problem is not None or not self.ib.isConnected():
            with contextlib.suppress(Exception):
                self.ib.disconnect()
            self.last_error = f"connect: {problem or 'the connection closed'}"
            raise VenueError(f"TWS / IB Gateway at {a.host}:{a.port} did not accept the "
                             f"connection ({problem or 'it closed the connection'})")
        self.accounts = list(self.ib.managedAccounts())
        self.account = self.accounts[0] if self.accounts else ""
        self.link_up = True
        self.counters["connects"] += 1
        self._connected_at = time.time()
        assert self._ready is not None
        self._ready.set()
        log.info("connected to TWS / IB Gateway at %s; account %s (%s)", a.describe(),
                 self.account or "?", "paper" if self.paper else "LIVE")

    async def _qualify(self, spec: ContractSpec, traded: bool = True) -> Contract:
        wanted = spec.contract()
        try:
            details = await asyncio.wait_for(self.ib.reqContractDetailsAsync(wanted),
                                             self.connect_timeout * 3)
        except asyncio.TimeoutError:
            raise VenueError(f"TWS did not answer the contract details of {spec.describe()} "
                             f"within {self.connect_timeout * 3:g}s") from None
        except Exception as exc:  # ib_async's RequestError: IB's code and message
            code = getattr(exc, "code", None)
            if code == 200:  # no security definition has been found
                details = []
            else:
                raise VenueError(f"asking IB about {spec.describe()} failed: "
                                 f"{getattr(exc, 'message', exc)}") from exc
        contract = choose(spec, wanted, details,
                          key="trading.symbol" if len(self.specs) < 2 else "trading.symbols")
        for d in details:
            if d.contract is not None and d.contract.conId == contract.conId:
                self.min_ticks[spec.symbol] = float(d.minTick or 0.0)
                if traded:
                    self.min_tick = self.min_ticks[spec.symbol]
        log.info("%s %s", "trading" if traded else "bars of", describe_contract(contract))
        return contract

    def contract_of(self, symbol: str) -> Contract | None:
        """The qualified contract of one of the bot's symbols (None before start)."""
        return self.contracts.get(symbol)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, FIRST_RETRY_SECONDS * 2 ** attempt)

    # -- what TWS says (I/O thread) ----------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        kind = codes.classify(code, req_id)
        if kind == "farm":
            self.counters["farm_messages"] += 1
            log.info("TWS: %s (%d)", message, code)
        elif kind == "lost":
            self.counters["connectivity_lost"] += 1
            self._note(f"TWS lost its connection to IB (1100): {message}")
            self._link(False)
            if self._link_watch is None:
                self._link_watch = asyncio.get_running_loop().call_later(
                    self.link_grace, self._link_overdue)
        elif kind == "restored":
            self.counters["restored"] += 1
            log.info("TWS reconnected to IB (%d: %s)", code, message)
            if code == codes.RESTORED_DATA_LOST and self.link_up:
                # TWS dropped every market data subscription: its users must make theirs again
                log.warning("IBKR: TWS lost the market data subscriptions (1101); subscribing "
                            "again")
                self._link(False)
            self._link(True)
        elif kind == "client_id_in_use":
            self._clash = True
            self._note(f"client id {self.address.client_id} is in use (326)")
        elif kind in ("warning", "order"):
            log.debug("TWS %d on request %d: %s", code, req_id, message)
        else:
            self._note(f"TWS error {code} on request {req_id}: {message}")

    def _link_overdue(self) -> None:
        """TWS said 1100 and nothing since: make the connection again ourselves."""
        self._link_watch = None
        if self.link_up or self._closing or not self.connected:
            return
        self._note(f"TWS did not report its link to IB back (1101/1102) within "
                   f"{self.link_grace:g}s of 1100; connecting again")
        self.ib.disconnect()  # the drop handler reconnects with backoff

    def _link(self, up: bool) -> None:
        if up and self._link_watch is not None:
            self._link_watch.cancel()
            self._link_watch = None
        was = self.link_up
        self.link_up = up
        if self._ready is not None:
            (self._ready.set if up and self.connected else self._ready.clear)()
        if was != up:
            self._tell("restored" if up else "lost")

    def _on_disconnected(self) -> None:
        if self._ready is not None:
            self._ready.clear()
        if self._closing or not self._started:
            return
        self.counters["drops"] += 1
        self._note(f"the connection to TWS at {self.address.host}:{self.address.port} dropped; "
                   "reconnecting")
        was_up, self.link_up = self.link_up, False
        if was_up:  # after an unanswered 1100 the listeners know already
            self._tell("lost")
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(
                self._reconnect(), name="ibkr reconnect")

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closing:
            attempt += 1
            await asyncio.sleep(self._backoff(attempt))
            try:
                await self._connect_once()
            except VenueError as exc:
                log.warning("reconnect attempt %d to TWS failed (%s); next in at most %gs",
                            attempt, exc, self.backoff_cap)
                continue
            log.info("reconnected to TWS after %d attempt(s)", attempt)
            self._tell("restored")
            return

    def _tell(self, what: str) -> None:
        for callback in list(self._listeners):
            try:
                callback(what)
            except Exception:  # a listener's bug must not stop the others hearing it
                log.exception("a connection listener failed on %r", what)

    def _note(self, message: str) -> None:
        self.last_error = message
        log.warning("IBKR: %s", message)

    # -- status (any thread) -----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "venue": "ibkr",
            "connected": self.connected,
            "link_to_ib": self.link_up,
            "gateway": self.address.describe(),
            "account": self.account or None,
            "paper": self.paper if self.account else None,
            "contract": describe_contract(self.contract) if self.contract is not None else None,
            **({"contracts": {s: describe_contract(c) for s, c in self.contracts.items()}}
               if len(self.contracts) > 1 else {}),
            "streams": dict(self.stream_states),
            "last_error": self.last_error or None,
            "last_reconcile": self.reconcile_result,
            "counters": dict(self.counters),
        }


"""The fake TWS's misbehaviours on request: dropped sockets, connectivity errors, refused
connections, failing requests. Mixed into ``FakeTWS``; runs its changes on the fake's loop."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakes.tws.server import FakeTWS

CALL_TIMEOUT = 5.0
LOST = (1100, "Connectivity between IB and Trader Workstation has been lost.")
RESTORED_KEPT = (1102, "Connectivity between IB and Trader Workstation has been restored - data "
                       "maintained. All data farms are connected: usfarm; ushmds; secdefnj.")
RESTORED_LOST = (1101, "Connectivity between IB and Trader Workstation has been restored - data "
                       "lost.*")


class FaultControls:
    """Controls that make the fake misbehave (see the package docstring)."""

    def fail_next(self: "FakeTWS", kind: str, code: int, text: str) -> None:
        """The next ``kind`` request ("historical" or "contract_details") gets error ``code``."""
        self.call(lambda: self._faults.setdefault(kind, []).append((code, text)))

    def drop_connections(self: "FakeTWS") -> None:
        """Close every client socket now (as when TWS or the network goes away)."""
        self.call(lambda: [s.close() for s in list(self._sessions)])

    def send_error(self: "FakeTWS", code: int, text: str, req_id: int = -1) -> None:
        """An error message to every connected client."""
        self.call(lambda: [s.error(req_id, code, text) for s in self.live_sessions()])

    def connectivity_lost(self: "FakeTWS") -> None:
        """Error 1100: TWS lost its connection to IB (the socket to the client stays up)."""
        self.send_error(*LOST)

    def connectivity_restored(self: "FakeTWS", data_lost: bool = False) -> None:
        """Error 1102 (data maintained) or 1101 (data lost: market data subscriptions are gone
        and the client must request them again)."""
        if data_lost:
            self.call(lambda: [setattr(r, "cancelled", True)
                               for r in [*self.historical, *self.realtime, *self.quotes]])
        self.send_error(*(RESTORED_LOST if data_lost else RESTORED_KEPT))

    def refuse_connections(self: "FakeTWS", seconds: float | None = None) -> None:
        """Stop listening (connections are refused) for ``seconds`` (None: until
        ``accept_connections``). Connected clients stay connected."""
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            if seconds is not None:
                self._reopen = self.loop.call_later(
                    seconds, lambda: self.loop.create_task(self._listen()))
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(CALL_TIMEOUT)

    def accept_connections(self: "FakeTWS") -> None:
        """Listen again, on the same port."""
        async def reopen() -> None:
            if self._reopen is not None:
                self._reopen.cancel()
            if self._server is None:
                await self._listen()
        asyncio.run_coroutine_threadsafe(reopen(), self.loop).result(CALL_TIMEOUT)

"""The template venue's orders, on the I/O thread: ``TemplateGateway`` turns what the venue
answers into the kernel's reports (``trading.core.reports``): ``OrderUpdate``s with ``Fill``s on
``updates``, the account as an ``AccountReport``, an order looked up as an ``OrderReport``. A
real venue's gateway also follows fills from its stream, looks an order up before sending it
again, and retries what failed (see the Binance and IBKR gateways)."""
from __future__ import annotations

import itertools
from typing import Iterable

from trading.core.reports import AccountReport, Fill, OrderReport, OrderUpdate, UpdateQueue

from .connection import TemplateVenue


class TemplateGateway:
    """Fills a market order at once, at the venue's last price."""

    def __init__(self, venue: TemplateVenue) -> None:
        self.venue = venue
        self.updates: UpdateQueue[OrderUpdate | AccountReport] = UpdateQueue()
        self._orders: dict[str, OrderReport] = {}
        self._ids = itertools.count(1)

    async def start(self) -> dict[str, AccountReport]:
        """The account of each of the bot's symbols (one cash), by symbol."""
        await self.venue.start()
        v = self.venue
        return {s: AccountReport(symbol=s, position=v.positions[s], price=v.prices[s],
                                 cash=v.cash, currency="USD", step=1e-9) for s in v.symbols}

    async def stop(self) -> None:
        pass

    async def place(self, client_id: str, side: str, quantity: float, symbol: str) -> None:
        v, venue_id = self.venue, str(next(self._ids))
        price = v.prices[symbol]
        signed = quantity if side == "BUY" else -quantity
        v.positions[symbol] += signed
        v.cash -= signed * price
        self._orders[client_id] = OrderReport(client_id, side, "MARKET", quantity, quantity,
                                              "filled", venue_id)
        self.updates.put(OrderUpdate(client_id, "accepted", venue_id))
        self.updates.put(OrderUpdate(client_id, "filled", venue_id,
                                     (Fill(f"{venue_id}-1", quantity, price),)))

    async def report(self, client_id: str) -> OrderReport | None:
        return self._orders.get(client_id)

    async def refresh_account(self) -> None:
        self.updates.put(await self.start())

    def may_exist(self, client_ids: Iterable[str]) -> None:
        pass  # a real venue looks these up before sending them again

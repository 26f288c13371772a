"""The template venue's connection: one per bot, on the bot's I/O thread, shared by the source
and the broker. A real venue keeps its client library here (sessions, sockets, clock, rate
limits); this one holds a market replayed from a CSV file and a simulated account.

Every connection answers ``bind``, ``submit``, ``start``, ``close`` and ``status``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from feeds.csv_bars import load_bars
from trading.core.errors import ConfigError
from trading.core.types import Bar

from trading.venues.connection import IOBound

log = logging.getLogger(__name__)


class TemplateVenue(IOBound):
    """The market (``bars``, the ``price`` now) and the account (``cash``, ``position``).

    A basket (``symbols``: the bot's, ``symbol`` the first) has one cash and a position and a
    price per symbol (``positions``, ``prices``); ``position`` and ``price`` are the first
    symbol's."""

    NAME = "the template venue"

    def __init__(self, path: Path | None, symbol: str, history: int, cash: float = 10_000.0,
                 symbols: tuple[str, ...] = ()) -> None:
        if path is None:
            raise ConfigError("data.file_path: the template venue replays a CSV file of bars")
        self.path, self.symbol, self.history = Path(path), symbol, max(1, history)
        self.symbols = symbols or (symbol,)
        self.cash = cash
        self.positions = {s: 0.0 for s in self.symbols}
        self.prices = {s: 0.0 for s in self.symbols}
        self.bars: list[Bar] = []
        self.stream_states: dict[str, str] = {}  # the source shows its state here
        self.reconcile_result: str | None = None  # the broker's start-up reconciliation

    async def start(self) -> None:
        """Connect (a real venue: log in, sync the clock); what stops the start raises here."""
        if not self.bars:
            loaded = load_bars(self.path)
            self.bars = [loaded.bar(i) for i in range(len(loaded))]
            self.price = self.bars[min(self.history, len(self.bars)) - 1].close
            log.info("template venue: %d bars of %s from %s", len(self.bars), self.symbol,
                     self.path)

    @property
    def position(self) -> float:
        return self.positions[self.symbol]

    @position.setter
    def position(self, size: float) -> None:
        self.positions[self.symbol] = size

    @property
    def price(self) -> float:
        return self.prices[self.symbol]

    @price.setter
    def price(self, value: float) -> None:
        self.prices[self.symbol] = value

    async def close(self) -> None:
        """Release the connection (idempotent)."""

    def status(self) -> dict[str, Any]:
        """What the bot's status shows about the venue."""
        return {"venue": "template", "streams": dict(self.stream_states), "price": self.price,
                "last_reconcile": self.reconcile_result}

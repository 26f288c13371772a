"""A bot's books as the per-bar transaction writes them: orders, closed trades, open positions,
holdings and risk state (``Store.checkpoint`` and ``Store.save_between_bars``).

Every statement is built once (``Upsert``, ``PreparedWrite``); a bar only binds values. Open
positions and holdings are given whole, per symbol: the rows of the symbols given are written and
the bot's rows of any other symbol are deleted (a position closed, a holding sold).

A checkpoint runs on every bar, so statements that would change nothing are left out: the store
remembers what its last committed writes left in ``positions`` and ``holdings`` for a bot, which
is what those tables hold, as a running bot is its rows' only writer (its lease; a reset is
refused while it runs). A holding is written when it changes; the delete runs when a symbol may
have gone. A new store, or one whose transaction failed, knows nothing yet and writes it all.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Collection, Mapping, Sequence

from sqlalchemy import Connection, Table, bindparam, delete

from trading.core.events import TRADE_FIELDS, OrderEvent, TradeClosed
from trading.core.timeutil import utc_datetime
from trading.core.types import OpenTrade
from trading.persistence import tables as m
from trading.persistence.prepared import PreparedWrite
from trading.persistence.tables import Upsert

ORDER_FIELDS = ("client_order_id", "venue_order_id", "symbol", "side", "order_type", "purpose",
                "reason", "size", "price", "status", "filled_size", "fill_price", "fee", "message",
                "created_at", "updated_at")
_ORDER_UPDATES = tuple(f for f in ORDER_FIELDS if f not in ("client_order_id", "created_at"))
TRADE_KEY = ("bot_id", "symbol", "entry_time", "exit_time", "exit_reason")  # one row per trade


class RowsBySymbol:
    """The statements for a bot's rows of a table keyed by (bot_id, symbol)."""

    def __init__(self, dialect: str, table: Table, update: tuple[str, ...]) -> None:
        self._dialect, self._table = dialect, table
        self.upsert = Upsert(dialect, table, ("bot_id", "symbol"), update)
        self._delete_others: dict[int, PreparedWrite] = {}  # by how many symbols stay

    def delete_others(self, conn: Connection, bot_id: str, symbols: Collection[str]) -> None:
        """Delete the bot's rows of every symbol not in ``symbols``."""
        stmt = self._delete_others.get(len(symbols))
        if stmt is None:
            c = self._table.c
            where = [c.bot_id == bindparam("bot_id")]
            if symbols:
                where.append(c.symbol.not_in([bindparam(f"symbol_{i}")
                                              for i in range(len(symbols))]))
            stmt = self._delete_others[len(symbols)] = PreparedWrite(
                delete(self._table).where(*where), self._dialect)
        stmt(conn, [{"bot_id": bot_id, **{f"symbol_{i}": s for i, s in enumerate(symbols)}}])


class BooksWriter:
    """Writes a bot's orders, trades, open positions, holdings and risk state into the caller's
    transaction; built once per store, told by it when that transaction ends."""

    def __init__(self, dialect: str) -> None:
        self._orders = Upsert(dialect, m.orders, ("bot_id", "client_order_id"), _ORDER_UPDATES,
                              keep=("venue_order_id", "fill_price"))
        self._trades = Upsert(dialect, m.trades, TRADE_KEY)
        self._positions = RowsBySymbol(dialect, m.positions, ("size", "entry_price", "entry_ts",
                                                              "trade", "updated_at"))
        self._holdings = RowsBySymbol(dialect, m.holdings, ("size", "price", "updated_at"))
        self._risk = Upsert(dialect, m.risk_state, ("bot_id",), ("state", "updated_at"))
        # by bot id, what the last committed writes left: the symbols of the open positions,
        # the holdings; absent: not known
        self._position_symbols: dict[str, frozenset[str]] = {}
        self._held: dict[str, dict[str, tuple[float, float]]] = {}
        # what the transaction in progress changes in them: (which, bot id, new value)
        self._changing: list[tuple[dict[str, Any], str, Any]] = []

    def committed(self) -> None:
        """The store's per-bar transaction committed: the tables hold what it wrote."""
        for known, bot_id, value in self._changing:
            known[bot_id] = value
        self._changing.clear()

    def rolled_back(self) -> None:
        """The store's per-bar transaction failed: what it changed is not known for sure (a
        commit can fail after the server kept it)."""
        for known, bot_id, _ in self._changing:
            known.pop(bot_id, None)
        self._changing.clear()

    def forget(self, bot_id: str) -> None:
        """The bot's rows moved or went outside the per-bar writes (``Store.archive_bot``)."""
        self._position_symbols.pop(bot_id, None)
        self._held.pop(bot_id, None)

    def save_risk_state(self, conn: Connection, bot_id: str, state: dict, now: datetime) -> None:
        self._risk(conn, [{"bot_id": bot_id, "state": json.dumps(state), "updated_at": now}])

    def save(self, conn: Connection, bot_id: str, now: datetime, *,
             orders: Sequence[OrderEvent], trades: Sequence[TradeClosed],
             positions: Mapping[str, OpenTrade], risk_state: dict, exit_mixins: str,
             holdings: Mapping[str, tuple[float, float]] | None) -> None:
        """Everything but the ``bots`` row; ``holdings`` None leaves the stored ones alone."""
        self._orders(conn, _order_rows(bot_id, orders))
        self._trades(conn, [_trade_row(bot_id, t, exit_mixins) for t in trades])
        self._save_positions(conn, bot_id, positions, now)
        if holdings is not None:
            self._save_holdings(conn, bot_id, holdings, now)
        self.save_risk_state(conn, bot_id, risk_state, now)

    def _save_positions(self, conn: Connection, bot_id: str, positions: Mapping[str, OpenTrade],
                        now: datetime) -> None:
        # every open trade changes on every bar (bars held, the exits' state): all are written
        self._positions.upsert(conn, [_position_row(bot_id, symbol, trade, now)
                                      for symbol, trade in positions.items()])
        known = self._position_symbols.get(bot_id)
        if known is None or not known <= positions.keys():
            self._positions.delete_others(conn, bot_id, positions.keys())
        if known is None or known != positions.keys():
            self._changing.append((self._position_symbols, bot_id, frozenset(positions)))

    def _save_holdings(self, conn: Connection, bot_id: str,
                       holdings: Mapping[str, tuple[float, float]], now: datetime) -> None:
        # a holding changes on a fill, not every bar: written when it changed
        known = self._held.get(bot_id)
        if known == holdings:
            return
        changed = [(symbol, held) for symbol, held in holdings.items()
                   if known is None or known.get(symbol) != held]
        self._holdings.upsert(conn, [{"bot_id": bot_id, "symbol": symbol, "size": size,
                                      "price": price, "updated_at": now}
                                     for symbol, (size, price) in changed])
        if known is None or not known.keys() <= holdings.keys():
            self._holdings.delete_others(conn, bot_id, holdings.keys())
        self._changing.append((self._held, bot_id, dict(holdings)))


def _order_rows(bot_id: str, orders: Sequence[OrderEvent]) -> list[dict[str, Any]]:
    """One row per client order id: the latest event, keeping earlier venue id and fill price."""
    rows: dict[str, dict[str, Any]] = {}
    for o in orders:
        at = o.time
        row = {"bot_id": bot_id, "client_order_id": o.client_order_id,
               "venue_order_id": o.venue_order_id, "symbol": o.symbol, "side": o.side,
               "order_type": o.order_type, "purpose": o.purpose, "reason": o.reason,
               "size": o.size, "price": o.price, "status": o.status, "filled_size": o.filled_size,
               "fill_price": o.fill_price, "fee": o.fee, "message": o.message,
               "created_at": at, "updated_at": at}
        earlier = rows.get(o.client_order_id)
        if earlier is not None:
            row["created_at"] = earlier["created_at"]
            for name in ("venue_order_id", "fill_price"):
                if row[name] is None:
                    row[name] = earlier[name]
        rows[o.client_order_id] = row
    return list(rows.values())


def _trade_row(bot_id: str, trade: TradeClosed, exit_mixins: str) -> dict[str, Any]:
    row = {name: getattr(trade, name) for name in TRADE_FIELDS}
    row.update(bot_id=bot_id, exit_mixins=exit_mixins)
    return row


def _position_row(bot_id: str, symbol: str, trade: OpenTrade, now: datetime) -> dict[str, Any]:
    if trade.symbol != symbol:  # a caller's mistake, which would store the trade under a lie
        raise ValueError(f"the open position given for {symbol} is a trade in {trade.symbol}")
    return {"bot_id": bot_id, "symbol": symbol, "size": trade.size,
            "entry_price": trade.entry_price, "entry_ts": utc_datetime(trade.entry_ts),
            "trade": json.dumps(trade.to_dict()), "updated_at": now}

"""What a restart restores, checked before the bot trades on it.

A database edited by hand, half-restored from a backup or damaged on disk can hold a state that
does not add up: a position without its bot, cash that is missing or negative, JSON that does not
parse. ``restored_snapshot`` turns the rows ``Store.load_snapshot`` read into a ``BotSnapshot``,
or refuses with one ``DamagedDatabase`` error that lists every problem and how to recover.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

from trading.core.errors import DamagedDatabase
from trading.core.timeutil import epoch_seconds
from trading.core.types import OpenTrade, PendingOrder
from trading.persistence.database import damaged


@dataclass(frozen=True)
class BotSnapshot:
    """What a restart restores: the state as of the end of bar ``last_bar_ts`` (None: never ran).

    ``positions``: every open trade by symbol, in symbol order. ``holdings``: the broker's whole
    position per symbol and its price as last saved, (size, price), a venue's dust included; None
    when none was kept (an older database, or a bot that never saved any).
    """

    bot_id: str
    last_bar_ts: float | None
    cash: float | None
    positions: dict[str, OpenTrade]
    pending_orders: tuple[PendingOrder, ...]
    risk_state: dict | None
    holdings: dict[str, tuple[float, float]] | None = None

    @property
    def position(self) -> OpenTrade | None:
        """The open trade of a one-symbol bot: None when flat; with several, the first by symbol."""
        return self.positions[min(self.positions)] if self.positions else None

    @property
    def holding(self) -> tuple[float, float] | None:
        """The holding of a one-symbol bot, or None; with several, the first by symbol."""
        return self.holdings[min(self.holdings)] if self.holdings else None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json(text: str, what: str, problems: list[str]) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        problems.append(f"the {what} is not valid JSON ({exc})")
        return None


def _position(symbol: str, text: str, problems: list[str]) -> OpenTrade | None:
    what = f"open position in {symbol}"
    data = _json(text, what, problems)
    if data is None:
        return None
    try:
        trade = OpenTrade.from_dict(data)
    except (TypeError, ValueError) as exc:
        problems.append(f"the {what} does not have the fields of a trade ({exc})")
        return None
    if not (_finite(trade.size) and trade.size > 0 and _finite(trade.entry_price)
            and trade.entry_price > 0 and _finite(trade.entry_ts)):
        problems.append(f"the {what} has size {trade.size!r}, entry price "
                        f"{trade.entry_price!r} and entry time {trade.entry_ts!r}: all must be "
                        "positive finite numbers")
        return None
    if trade.symbol != symbol:
        problems.append(f"the {what} is a trade in {trade.symbol!r}")
        return None
    return trade


def restored_snapshot(url: str, bot_id: str, bot: Any, positions: Sequence[Any],
                      holdings: Sequence[Any], risk_text: str | None,
                      pending: Sequence[Any]) -> BotSnapshot:
    """A checked ``BotSnapshot`` from the rows of one bot: ``bot`` its ``bots`` row or None,
    ``positions`` its (symbol, trade) rows, ``holdings`` its (symbol, size, price) rows,
    ``pending`` its orders the venue may still fill."""
    problems: list[str] = []
    last_bar = bot.last_bar_ts if bot is not None else None
    cash = bot.cash if bot is not None else None
    trades = {symbol: _position(symbol, text, problems) for symbol, text in sorted(positions)}
    risk = _json(risk_text, "risk state", problems) if risk_text is not None else None
    if risk is not None and not isinstance(risk, dict):
        problems.append(f"the risk state is {type(risk).__name__}, not an object")
        risk = None
    if last_bar is None and (positions or pending):
        problems.append("it holds an open position or pending orders but no checkpointed bar for "
                        "the bot (its 'bots' row was removed or emptied)")
    if last_bar is not None and not (_finite(cash) and cash >= 0):
        problems.append(f"the bot's cash is {cash!r}; it must be a finite number, 0 or more")
    if problems:
        raise _refusal(url, bot_id, problems)
    return BotSnapshot(
        bot_id=bot_id,
        last_bar_ts=epoch_seconds(last_bar) if last_bar is not None else None,
        cash=cash,
        positions={symbol: trade for symbol, trade in trades.items() if trade is not None},
        # a partly filled order is re-sent for what is still missing
        pending_orders=tuple(PendingOrder(purpose=p.purpose, size=p.size - p.filled_size,
                                          client_order_id=p.client_order_id, reason=p.reason,
                                          symbol=p.symbol)
                             for p in pending),
        risk_state=risk,
        holdings=_holdings(holdings),
    )


def _holdings(rows: Sequence[Any]) -> dict[str, tuple[float, float]] | None:
    """Holdings by symbol; a size that is not a finite number, 0 or more, is taken as unknown
    (left out), as a missing price is taken as 0."""
    if not rows:
        return None
    return {symbol: (float(size), float(price) if _finite(price) else 0.0)
            for symbol, size, price in sorted(rows) if _finite(size) and size >= 0}


def _refusal(url: str, bot_id: str, problems: list[str]) -> DamagedDatabase:
    what = problems[0] if len(problems) == 1 else "; ".join(
        f"({i}) {p}" for i, p in enumerate(problems, start=1))
    return damaged(url, f"the saved state of bot {bot_id} does not add up: {what}", bot_id)

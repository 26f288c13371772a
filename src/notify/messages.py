"""Events as short messages a person reads on a phone: the same facts in every channel.

``format_event`` turns one event into a ``Message``: a title line (also the e-mail subject), a
few body lines, and the raw event with the bot id (what a ``json`` webhook posts). Numbers keep
their significant digits (prices like 0.08712 stay readable), times are bar times in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from trading.core.basket_text import basket_label, is_basket
from trading.core.events import (DailySummaryEvent, ErrorEvent, Event, KillSwitchEvent,
                                 OrderRejectedEvent, StatusEvent, TradeClosed, TradeOpened)

# which messages go first when a queue is full: status news, then the rest; trades never first
PRIORITY_TRADE, PRIORITY_NORMAL, PRIORITY_STATUS = 0, 1, 2
PRIORITIES = {"trade_entry": PRIORITY_TRADE, "trade_exit": PRIORITY_TRADE,
              "kill_switch": PRIORITY_TRADE, "status": PRIORITY_STATUS}


@dataclass(frozen=True)
class Message:
    """One event, formatted once for every channel."""

    kind: str
    title: str
    body: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        """Title and body: what Telegram and a text webhook show."""
        return f"{self.title}\n{self.body}" if self.body else self.title

    @property
    def priority(self) -> int:
        return PRIORITIES.get(self.kind, PRIORITY_NORMAL)


def num(value: float | None) -> str:
    """A quantity or price with its significant digits: ``0.08712``, ``1234.5``."""
    return "-" if value is None else f"{value:.8g}"


def signed(value: float) -> str:
    return f"{value:+.8g}"


def when(moment: datetime | None) -> str:
    """``2018-01-10 05:00 UTC`` (seconds only when there are some)."""
    if moment is None:
        return "-"
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")
    return f"{text} UTC"


def position_line(position: Mapping[str, Any]) -> str:
    """One open position on one line: ``XLMBTC 5147175.5 @ 5.563e-05, unrealized -3.24``."""
    return (f"{position.get('symbol', '?')} {num(position['size'])} @ "
            f"{num(position['entry_price'])}, unrealized {signed(position['unrealized_pnl'])}")


def _equity(value: float | None) -> str:
    return f" | equity {num(value)}" if value is not None else ""


def _entry(e: TradeOpened, label: str) -> tuple[str, list[str]]:
    return (f"{label} ENTRY buy {num(e.size)} @ {num(e.entry_price)}",
            [f"bar {when(e.time)}", f"fee {num(e.fee)}{_equity(e.equity)}",
             f"entry rule {e.entry_mixin}"])


def _exit(e: TradeClosed, label: str) -> tuple[str, list[str]]:
    return (f"{label} EXIT pnl {signed(e.pnl)} ({e.pnl_pct:+.2f}%)",
            [f"sell {num(e.size)} @ {num(e.exit_price)} (entry {num(e.entry_price)})",
             f"reason {e.exit_reason}", f"fees {num(e.fees)} | held {e.bars_held} bars",
             f"bar {when(e.exit_time)}{_equity(e.equity)}"])


def _rejected(e: OrderRejectedEvent, label: str) -> tuple[str, list[str]]:
    return f"{label} ORDER REJECTED", [e.message, f"bar {when(e.time)}"]


def _error(e: ErrorEvent, label: str) -> tuple[str, list[str]]:
    return f"{label} ERROR", [e.message] + ([f"in {e.source}"] if e.source else []) + [
        f"at {when(e.time)}"]


def _kill_switch(e: KillSwitchEvent, label: str) -> tuple[str, list[str]]:
    return (f"{label} KILL SWITCH ON", [e.reason, "no new entries until it is reset "
                                        "(tradingbot reset-kill-switch)", f"at {when(e.time)}"])


def _status(e: StatusEvent, label: str) -> tuple[str, list[str]]:
    change = e.change or "status"
    return f"{label} {change}", [line for line in (e.message, f"at {when(e.time)}") if line]


def _daily(e: DailySummaryEvent, label: str) -> tuple[str, list[str]]:
    return (f"{label} daily summary {e.day}",
            [f"trades {e.trades} | win rate {e.win_rate_pct:.0f}%",
             f"pnl {signed(e.pnl)} | fees {num(e.fees)}",
             f"equity {num(e.equity)} | drawdown {e.drawdown_pct:.2f}%",
             f"{when(e.period_start)} to {when(e.period_end)}"]
            + [f"open {position_line(p)}" for p in e.positions])


FORMATTERS: dict[type, Callable[[Any, str], tuple[str, list[str]]]] = {
    TradeOpened: _entry, TradeClosed: _exit, OrderRejectedEvent: _rejected, ErrorEvent: _error,
    KillSwitchEvent: _kill_switch, StatusEvent: _status, DailySummaryEvent: _daily}


def format_event(event: Event, bot_id: str, symbol: str, symbols: Sequence[str] = ()) -> Message:
    """``event`` as a message of bot ``bot_id`` trading ``symbol`` (``symbols``: the whole
    basket, when it is one). The title names the event's own symbol (a trade's), else the bot's
    symbol or basket (``[0007 ETCBTC +4] started``); the payload's ``symbol`` is the event's,
    else the bot's one symbol, and a basket's payload lists its ``symbols``."""
    basket = tuple(symbols) if is_basket(symbols) else ()
    own = getattr(event, "symbol", None)
    label = f"[{bot_id} {own or (basket_label(basket) if basket else symbol)}]"
    formatter = FORMATTERS.get(type(event))
    if formatter is None:
        title, lines = f"{label} {event.kind}", []
    else:
        title, lines = formatter(event, label)
    payload = {"bot_id": bot_id, "symbol": own or (None if basket else symbol),
               **({"symbols": list(basket)} if basket else {}), **event.to_dict()}
    return Message(kind=event.kind, title=title, body="\n".join(lines), payload=payload)

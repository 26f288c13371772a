"""Chat commands as text in, text out, over the bot's control facade.

``CommandRouter.handle("/trades 3")`` asks the control facade (``trading.runtime.control``; any
object with its methods) and formats the answer for a phone. The router knows nothing about
Telegram, so another chat interface can reuse it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from notify.messages import num, position_line, signed, when
from trading.core.basket_text import basket_label, is_basket, status_positions, status_symbols

HELP = """Commands:
/status - state, data, last bar, value, positions, today
/positions - every open position
/trades [n] - the last n closed trades (1-50, default 5)
/pnl [day|week|all] - realised pnl, win rate, fees
/pause - no new entries (exits and stops go on), also after a restart
/resume - allow entries again
/stop - stop the bot gracefully (as SIGTERM)
/help - this list"""


DEFAULT_TRADES = 5
MAX_TRADES = 50  # the control facade's own cap; said here so a reply can name it
_COUNT = re.compile(r"[0-9]{1,3}")  # ASCII digits only: "²" and "٣" pass isdigit() but not int()


def parse_count(word: str) -> int | None:
    """``word`` as a count of 1..MAX_TRADES written in ASCII digits, else None."""
    if not _COUNT.fullmatch(word):
        return None
    count = int(word)
    return count if 1 <= count <= MAX_TRADES else None


class ControlPort(Protocol):
    """What the router needs of the bot (``trading.runtime.control.BotControl``)."""

    def status(self) -> dict[str, Any]: ...

    def positions(self) -> list[dict[str, Any]]: ...

    def trades(self, count: int = 5) -> list[dict[str, Any]]: ...

    def pnl(self, period: str = "day") -> dict[str, Any]: ...

    def pause(self, by: str) -> bool: ...

    def resume(self, by: str) -> bool: ...

    def stop(self, by: str) -> None: ...


@dataclass(frozen=True)
class Reply:
    """The answer to send, and what to do once it is sent (``/stop`` stops after answering)."""

    text: str
    then: Callable[[], None] | None = None


def _iso(value: Any) -> str:
    return when(value) if isinstance(value, datetime) else str(value or "-")


def _held(s: dict[str, Any]) -> list[str]:
    """The status's position lines: a one-symbol bot's one line, a basket's count and then
    every open position with its symbol."""
    positions = status_positions(s)
    if is_basket(status_symbols(s)):
        return [f"positions: {len(positions)} open" if positions else "positions: flat"] + [
            position_line(p) for p in positions]
    if not positions:
        return ["position flat"]
    p = positions[0]
    return [f"position {num(p['size'])} @ {num(p['entry_price'])}, unrealized "
            f"{signed(p['unrealized_pnl'])}"]


def format_status(s: dict[str, Any]) -> str:
    entries = "PAUSED (/resume)" if s.get("paused") else "active"
    return "\n".join([
        f"[{s['bot_id']} {basket_label(status_symbols(s))}] {s['state']}, "
        f"data {s.get('data_status') or '-'}",
        f"last bar {s.get('last_bar_time') or '-'}",
        f"value {num(s.get('value'))} | cash {num(s.get('cash'))}",
        *_held(s),
        f"today: {s.get('entries_today', 0)} entries, pnl {signed(s.get('pnl_today') or 0.0)}",
        f"drawdown {s.get('drawdown_pct', 0.0):.2f}% | kill switch "
        f"{'ON' if s.get('kill_switch') else 'off'} | entries {entries}"])


def format_positions(positions: list[dict[str, Any]]) -> str:
    if not positions:
        return "No open position."
    return "\n".join(f"{p['symbol']} {num(p['size'])} @ {num(p['entry_price'])} since "
                     f"{p['entry_time']} ({p['bars_held']} bars), unrealized "
                     f"{signed(p['unrealized_pnl'])}" for p in positions)


def format_trades(trades: list[dict[str, Any]]) -> str:
    if not trades:
        return "No closed trades yet."
    lines = [f"Last {len(trades)} trade{'s' if len(trades) != 1 else ''}:"]
    lines += [f"{_iso(t['exit_time'])} pnl {signed(t['pnl'])} ({t['pnl_pct']:+.2f}%) "
              f"{num(t['size'])} @ {num(t['entry_price'])} -> {num(t['exit_price'])}, "
              f"{t['exit_reason']}" for t in trades]
    return "\n".join(lines)


def format_pnl(p: dict[str, Any]) -> str:
    """Realised figures, then the unrealised pnl: a basket's total, then each open position's."""
    since = f"since {_iso(p['since'])}" if p.get("since") else "all time"
    basket = is_basket(p.get("symbols") or ())
    return "\n".join([
        f"pnl {p['period']} ({since}): {signed(p['pnl'])}",
        f"{p['trades']} trades, win rate {p['win_rate_pct']:.0f}%, fees {num(p['fees'])}",
        f"unrealized {signed(p['unrealized_pnl'])} | value {num(p.get('value'))}",
        *(f"open {position_line(q)}" for q in (p.get("positions") or []) if basket)])


class CommandRouter:
    """Turns one command text into a ``Reply``; ``by`` names the interface in logs and events."""

    def __init__(self, control: ControlPort, by: str = "telegram") -> None:
        self.control = control
        self.by = by

    def handle(self, text: str) -> Reply:
        words = text.strip().split()
        if not words or not words[0].startswith("/"):
            return Reply("Send a command; /help lists them.")
        command, args = words[0][1:].split("@")[0].lower(), words[1:]
        handler = getattr(self, f"_{command}", None)
        if handler is None:
            return Reply(f"Unknown command /{command}.\n\n{HELP}")
        return handler(args)

    def _status(self, args: list[str]) -> Reply:
        return Reply(format_status(self.control.status()))

    def _positions(self, args: list[str]) -> Reply:
        return Reply(format_positions(self.control.positions()))

    def _trades(self, args: list[str]) -> Reply:
        if len(args) > 1:
            return Reply(f"/trades takes one number, not {len(args)} words: /trades 5.")
        count = parse_count(args[0]) if args else DEFAULT_TRADES
        if count is None:
            return Reply(f"/trades {args[0][:20]}: give a whole number from 1 to {MAX_TRADES}, "
                         f"written with the digits 0-9 (e.g. /trades 5).")
        return Reply(format_trades(self.control.trades(count)))

    def _pnl(self, args: list[str]) -> Reply:
        period = args[0].lower() if args else "day"
        if period not in ("day", "week", "all"):
            return Reply("Use /pnl day, /pnl week or /pnl all.")
        return Reply(format_pnl(self.control.pnl(period)))

    def _pause(self, args: list[str]) -> Reply:
        if not self.control.pause(f"{self.by} /pause"):
            return Reply("Already paused. /resume allows entries again.")
        return Reply("Paused: no new entries from the next bar on; exits and protective orders "
                     "go on. The pause holds across restarts until /resume.")

    def _resume(self, args: list[str]) -> Reply:
        if not self.control.resume(f"{self.by} /resume"):
            return Reply("Not paused: entries are allowed.")
        return Reply("Resumed: entries allowed from the next bar on.")

    def _stop(self, args: list[str]) -> Reply:
        return Reply("Stopping after the bar in hand (as SIGTERM); open positions, if any, "
                     "are kept unless shutdown.close_positions is set.",
                     then=lambda: self.control.stop(f"{self.by} /stop"))

    def _help(self, args: list[str]) -> Reply:
        return Reply(HELP)

    _start = _help  # Telegram sends /start when a user first opens the chat

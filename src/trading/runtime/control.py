"""One control facade for every remote interface: Telegram commands now, a REST API later.

``BotControl`` answers status, positions, trades and pnl from the same data as
``LiveTradingBot.get_status()`` and the store, and takes pause, resume and stop. Every method is
safe from any thread and returns plain data (dicts, lists, bools) that an interface formats as it
likes: nothing here touches the strategy, the broker or the risk manager. Pause and resume go
through the ``PauseSwitch`` (applied by the Cerebro thread at the next bar and persisted with the
risk state); stop is ``LiveTradingBot.stop()``, the same graceful stop as SIGTERM.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from trading.core.basket_text import status_positions, status_symbols
from trading.core.events import Event, StatusEvent
from trading.core.timeutil import utcnow
from trading.risk import PauseSwitch

log = logging.getLogger(__name__)

PNL_PERIODS = ("day", "week", "all")
MAX_TRADES = 50


def period_start(period: str, now: datetime) -> datetime | None:
    """Where a pnl period starts: today 00:00 UTC, 7 days ago, or None for all time."""
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return now - timedelta(days=7)
    if period == "all":
        return None
    raise ValueError(f"unknown pnl period '{period}' (use {', '.join(PNL_PERIODS)})")


def trade_figures(trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, wins, win rate, pnl and fees of closed trades (store rows)."""
    wins = sum(1 for t in trades if t["pnl"] > 0)
    return {"trades": len(trades), "wins": wins,
            "win_rate_pct": round(100.0 * wins / len(trades), 2) if trades else 0.0,
            "pnl": sum(t["pnl"] for t in trades), "fees": sum(t["fees"] for t in trades)}


class BotControl:
    """What a remote interface may ask of and do to one running bot."""

    def __init__(self, *, bot_id: str, get_status: Callable[[], dict[str, Any]], store: Any,
                 pause_switch: PauseSwitch, stop: Callable[[], None],
                 announce: Callable[[Event], None] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.bot_id = bot_id
        self._get_status = get_status
        self._store = store
        self._pause = pause_switch
        self._stop = stop
        self._announce = announce
        self._clock = clock

    # -- questions ---------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The bot's status document (as the status file has it)."""
        return self._get_status()

    def positions(self) -> list[dict[str, Any]]:
        """Every open position as of the last bar, each with its symbol, in the basket's order."""
        return status_positions(self._get_status())

    def trades(self, count: int = 5) -> list[dict[str, Any]]:
        """The last ``count`` closed trades (1..50), oldest first."""
        count = max(1, min(MAX_TRADES, int(count)))
        return self._store.trades(self.bot_id)[-count:]

    def pnl(self, period: str = "day") -> dict[str, Any]:
        """Realised figures of the trades closed in ``period`` (day, week, all), plus the open
        positions (``positions``, of the bot's ``symbols``), their unrealised pnl together and
        the account's value now."""
        now = self._clock()
        since = period_start(period, now)
        trades = [t for t in self._store.trades(self.bot_id)
                  if since is None or t["exit_time"] >= since]
        status = self._get_status()
        positions = status_positions(status)
        return {"period": period, "since": since, **trade_figures(trades),
                "unrealized_pnl": sum(p["unrealized_pnl"] for p in positions),
                "value": status.get("value"), "symbols": list(status_symbols(status)),
                "positions": positions}

    # -- actions -----------------------------------------------------------------------------------
    def pause(self, by: str) -> bool:
        """No new entries from the next bar on (exits and protective orders go on), until
        ``resume``, also across restarts. False when already paused."""
        return self._set_paused(True, by)

    def resume(self, by: str) -> bool:
        """Entries allowed again from the next bar on. False when not paused."""
        return self._set_paused(False, by)

    def _set_paused(self, paused: bool, by: str) -> bool:
        if not self._pause.set(paused, by):
            return False
        word = "paused" if paused else "resumed"
        log.info("entries %s by %s (from the next bar on)", word, by)
        if self._announce is not None:
            detail = ("no new entries; exits and protective orders go on" if paused
                      else "entries allowed again")
            self._announce(StatusEvent(time=self._clock(), change=word,
                                       message=f"{word} by {by}: {detail}",
                                       status={"paused": paused, "by": by}))
        return True

    def stop(self, by: str) -> None:
        """Stop gracefully after the bar in hand, as SIGTERM does."""
        log.info("stop requested by %s", by)
        self._stop()

"""The daily summary: once per day at ``notifications.daily_summary_time`` (UTC), across restarts.

The summary sent at a slot (that time of day) covers the 24 hours before it: the trades closed
then (count, win rate, pnl, fees), with the equity, drawdown and every open position now. The
store remembers what was sent (the ``daily_summary`` events it records), so a restart never sends
a day twice; a bot that was down at the slot sends the missed (latest) summary when it comes
back, if it had already run before that slot (its first recorded start). A summary sent well
after its slot says why in the log: the bot was down then, the system clock was stepped past the
slot while the bot waited, or the bot's timer woke late (a suspended machine, a stalled process).
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any, Callable

from trading.core.basket_text import status_positions
from trading.core.events import DailySummaryEvent, Event
from trading.core.timeutil import utcnow
from trading.runtime.control import trade_figures

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
RECHECK_SECONDS = 60.0  # sleep at most this long, so a clock change is noticed
LATE_AFTER = timedelta(minutes=5)  # a summary sent this long after its slot says why
CLOCK_STEP_SECONDS = 2.0  # a wait whose wall time and real time differ by more: the clock was set


def last_slot(now: datetime, seconds_of_day: int) -> datetime:
    """The most recent summary time at or before ``now``."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    slot = midnight + timedelta(seconds=seconds_of_day)
    return slot if slot <= now else slot - DAY


def _time_of(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


class DailySummary:
    """Decides when a summary is due, builds it from the store and the status, and publishes it
    (the publisher records it in the store: that record is the memory)."""

    def __init__(self, *, bot_id: str, store: Any, seconds_of_day: int,
                 get_status: Callable[[], dict[str, Any]], publish: Callable[[Event], None],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.bot_id = bot_id
        self.store = store
        self.seconds_of_day = seconds_of_day
        self.get_status = get_status
        self.publish = publish
        self.clock = clock
        self.last_sent: datetime | None = None  # the slot of the last summary sent
        self.first_start: datetime | None = None
        self.running_since: datetime | None = None  # this run's start (``prime``)
        self._clock_step = 0.0  # seconds the clock moved beyond real time in ``run``'s last wait

    def prime(self) -> None:
        """Read what earlier runs left: the last summary sent and the bot's first start.

        Call before this run records its own start."""
        sent = self.store.events(self.bot_id, "daily_summary")
        if sent:
            self.last_sent = _time_of(sent[-1], "period_end")
        started = [e for e in self.store.events(self.bot_id, "status") if e.get("change") == "started"]
        self.running_since = self.clock()
        self.first_start = _time_of(started[0], "time") if started else self.running_since

    def due(self) -> datetime | None:
        """The slot whose summary should go out now, or None."""
        slot = last_slot(self.clock(), self.seconds_of_day)
        if self.first_start is None or slot <= self.first_start:
            return None  # the bot did not exist yet at that slot
        if self.last_sent is not None and slot <= self.last_sent:
            return None
        return slot

    def summary(self, slot: datetime) -> DailySummaryEvent:
        start = slot - DAY
        trades = [t for t in self.store.trades(self.bot_id) if start <= t["exit_time"] < slot]
        figures = trade_figures(trades)
        status = self.get_status()
        return DailySummaryEvent(day=start.date().isoformat(), trades=figures["trades"],
                                 pnl=figures["pnl"], equity=status.get("value") or 0.0,
                                 wins=figures["wins"], fees=figures["fees"],
                                 drawdown_pct=status.get("drawdown_pct") or 0.0,
                                 period_start=start, period_end=slot,
                                 positions=status_positions(status))

    def send_if_due(self) -> bool:
        slot = self.due()
        if slot is None:
            return False
        if self.clock() - slot > LATE_AFTER:
            log.info("sending the daily summary of %s now, after its time %s: %s",
                     (slot - DAY).date(), slot.isoformat(), self._why_late(slot))
        self.publish(self.summary(slot))
        self.last_sent = slot
        return True

    def _why_late(self, slot: datetime) -> str:
        """Why the summary of ``slot`` goes out only now, as far as this process can tell."""
        if self.running_since is None or slot < self.running_since:
            return "the bot was not running then"
        if self._clock_step > CLOCK_STEP_SECONDS:
            return (f"the bot was running, and the system clock was set {self._clock_step:.0f} s "
                    "forward past that time while the bot waited for it")
        return ("the bot was running, but its timer woke late (the machine was suspended or the "
                "process stalled)")

    async def run(self) -> None:
        """Send each summary when due, until cancelled (``send_if_due`` once first, at start)."""
        while True:
            now, real = self.clock(), time.monotonic()
            wait = (last_slot(now, self.seconds_of_day) + DAY - now).total_seconds()
            await asyncio.sleep(min(max(wait, 0.05), RECHECK_SECONDS))
            # the wall clock's move beyond the real time slept: a step set by NTP or by hand
            self._clock_step = ((self.clock() - now).total_seconds()
                                - (time.monotonic() - real))
            try:
                await asyncio.to_thread(self.send_if_due)
            except Exception:  # a store hiccup must not end the schedule
                log.exception("daily summary failed; trying again at the next check")

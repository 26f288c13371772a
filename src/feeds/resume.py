"""Where a live venue source picks up: which of the bars it fetched only warm the indicators up
and which the bot trades as live bars after a restart, and queueing the warm-up. Shared by the
venue sources (Binance, Yahoo, IBKR)."""
from __future__ import annotations

import logging
from typing import Sequence

from feeds.live import BarSink
from trading.core.timeutil import iso_z
from trading.core.types import Bar

log = logging.getLogger(__name__)


def split_resumed(bars: Sequence[Bar], resume_ts: float | None, lookback_bars: int,
                  label: str) -> tuple[list[Bar], list[Bar]]:
    """``(history, live)`` for closed ``bars`` (oldest first).

    A first run (``resume_ts`` None) warms up on the last ``lookback_bars`` and trades nothing
    old. After a restart the bars after ``resume_ts`` (the last bar traded) were missed while the
    bot was down: those within ``lookback_bars`` of now are traded as live bars, older ones only
    warm up (logged under ``label``).
    """
    if resume_ts is None:
        return (list(bars[-lookback_bars:]) if lookback_bars else []), []
    traded = [b for b in bars if b.ts <= resume_ts]
    missed = [b for b in bars if b.ts > resume_ts]
    live = missed[-lookback_bars:] if lookback_bars else []
    history = (traded + missed[:len(missed) - len(live)])[-max(lookback_bars, 1):]
    if missed:
        log.info("%s: %d bar(s) since the last traded bar %s; %d traded as live bars", label,
                 len(missed), iso_z(resume_ts), len(live))
    return history, live


async def put_history(sink: BarSink, history: Sequence[Bar], label: str) -> None:
    """Queue a venue source's warm-up bars (the last one marked) and say how many there were."""
    for i, bar in enumerate(history):
        await sink.put_bar(bar, history=True, last_history=i == len(history) - 1)
    log.info("%s: %d history bar(s) loaded%s", label, len(history),
             f" up to {iso_z(history[-1].ts)}" if history else "")

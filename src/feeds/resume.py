"""Where a live source picks up after a restart: which of the bars it fetched only warm the
indicators up and which the bot trades as live bars. Shared by the venue sources."""
from __future__ import annotations

from typing import Sequence

from trading.core.types import Bar


def split_resumed(bars: Sequence[Bar], resume_ts: float | None,
                  lookback_bars: int) -> tuple[list[Bar], list[Bar], int]:
    """``(history, live, missed)`` for closed ``bars`` (oldest first).

    A first run (``resume_ts`` None) warms up on the last ``lookback_bars`` and trades nothing
    old. After a restart the bars after ``resume_ts`` (the last bar traded, ``missed`` of them)
    that are within ``lookback_bars`` of now are traded as live bars; older ones only warm up.
    """
    if resume_ts is None:
        return (list(bars[-lookback_bars:]) if lookback_bars else []), [], 0
    traded = [b for b in bars if b.ts <= resume_ts]
    missed = [b for b in bars if b.ts > resume_ts]
    live = missed[-lookback_bars:] if lookback_bars else []
    history = (traded + missed[:len(missed) - len(live)])[-max(lookback_bars, 1):]
    return history, live, len(missed)

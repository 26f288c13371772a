"""Backtrader's name for a bar interval: (TimeFrame, compression)."""
from __future__ import annotations

import backtrader as bt


def backtrader_timeframe(interval_seconds: float) -> tuple[int, int]:
    """Backtrader's (timeframe, compression) for bars ``interval_seconds`` apart."""
    if interval_seconds >= 86400 and interval_seconds % 86400 == 0:
        return bt.TimeFrame.Days, int(interval_seconds // 86400)
    if interval_seconds >= 60 and interval_seconds % 60 == 0:
        return bt.TimeFrame.Minutes, int(interval_seconds // 60)
    return bt.TimeFrame.Seconds, max(1, int(interval_seconds))  # 0 for a single bar

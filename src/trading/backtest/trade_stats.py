"""Figures of the closed trades themselves: wins, draws and losses, streaks, expectancy, and how
long winners and losers are held.

Definitions: a trade wins when its ``pnl`` (net of fees) is above 0, loses below 0 and draws at 0;
streaks run in the order trades closed, and a draw ends both. ``expectancy`` is the average pnl
of a trade in the quote currency (win rate x average win - loss rate x average loss);
``expectancy_ratio`` is freqtrade's ((1 + average win / average loss) x win rate) - 1: above 0,
the rules win more than they lose per unit risked; None without a losing trade.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trading.core.events import TradeClosed
from trading.core.timeutil import epoch_seconds

TRADE_KEYS = ("wins", "draws", "losses", "expectancy", "expectancy_ratio", "max_consecutive_wins",
              "max_consecutive_losses", "avg_winner_hours", "avg_loser_hours")


def win_rate_pct(pnls: np.ndarray) -> float:
    """The share of trades with a pnl above 0, in percent (0 without trades)."""
    return float((pnls > 0).mean() * 100.0) if len(pnls) else 0.0


def longest_run(flags: np.ndarray) -> int:
    """The longest run of True in ``flags``."""
    best = run = 0
    for flag in flags.tolist():
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def trade_stats(trades: Sequence[TradeClosed]) -> dict[str, Any]:
    """The figures of TRADE_KEYS for ``trades`` (closed round trips, in the order they closed)."""
    pnls = np.array([t.pnl for t in trades], dtype=np.float64)
    hours = np.array([(epoch_seconds(t.exit_time) - epoch_seconds(t.entry_time)) / 3600.0
                      for t in trades], dtype=np.float64)
    won, lost = pnls > 0, pnls < 0
    ratio = None
    if won.any() or lost.any():
        if lost.any():
            average_win = float(pnls[won].mean()) if won.any() else 0.0
            ratio = (1.0 + average_win / float(-pnls[lost].mean())) * float(won.mean()) - 1.0
    return {
        "wins": int(won.sum()),
        "draws": int((pnls == 0).sum()),
        "losses": int(lost.sum()),
        "expectancy": _mean(pnls),
        "expectancy_ratio": ratio,
        "max_consecutive_wins": longest_run(won),
        "max_consecutive_losses": longest_run(lost),
        "avg_winner_hours": _mean(hours[won]),
        "avg_loser_hours": _mean(hours[lost]),
    }

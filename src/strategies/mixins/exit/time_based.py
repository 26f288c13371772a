"""Exit after a maximum holding time, counted in bars and/or minutes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, ExitMixin, OpenTrade, Param

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class TimeBasedExitMixin(ExitMixin):
    """Close a position that has been held too long.

    ``x_max_bars``: exit once ``bars_held`` (bars closed since entry) reaches it; 0 turns it off.
    ``x_max_minutes``: exit once ``(bar open time - entry time) / 60`` reaches it; 0 (the default)
    turns it off. With both set, whichever comes first fires.
    """

    name = "TimeBasedExitMixin"
    rule = "bars held >= x_max_bars (0 = off) OR minutes since entry >= x_max_minutes (0 = off)"
    params = (
        Param("x_max_bars", int, 20, "exit after this many bars held (0 = off)",
              minimum=0, maximum=1_000_000),
        Param("x_max_minutes", float, 0.0,
              "exit once this many minutes have passed since entry, by bar open time (0 = off)",
              minimum=0, maximum=10_000_000),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        self._max_bars = self.p.x_max_bars
        self._max_seconds = self.p.x_max_minutes * 60.0

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        if self._max_bars and trade.bars_held >= self._max_bars:
            return "max_bars"
        if self._max_seconds and bar.ts - trade.entry_ts >= self._max_seconds:
            return "max_minutes"
        return None

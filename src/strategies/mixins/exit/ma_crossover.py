"""Exit when a fast moving average crosses below a slow one."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, ExitMixin, OpenTrade, Param
from strategies.mixins.common import period

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class MACrossoverExitMixin(ExitMixin):
    """Sell on the bar where the fast MA of the close crosses below the slow MA."""

    name = "MACrossoverExitMixin"
    rule = ("fast MA crosses below slow MA (previous fast >= previous slow AND fast < slow); "
            "MA = x_ma_type of the close")
    params = (
        period("x_fast_period", 10, "fast moving average"),
        period("x_slow_period", 20, "slow moving average"),
        Param("x_ma_type", str, "sma", "moving average type: simple or exponential",
              choices=("sma", "ema")),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        average = indicators.sma if self.p.x_ma_type == "sma" else indicators.ema
        self._fast = average(self.p.x_fast_period)
        self._slow = average(self.p.x_slow_period)

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        fast, slow = self._fast, self._slow
        if fast.prev >= slow.prev and fast.value < slow.value:
            return "ma_cross_down"
        return None

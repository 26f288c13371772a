"""An oversold pullback above the Ichimoku cloud that turns back up through the Tenkan-sen."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, EntryMixin
from strategies.mixins.entry.common import RSI_ENTRY_PARAMS, period, rsi_at_most

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class RSIIchimokuEntryMixin(EntryMixin):
    """Buy when the close is above the cloud, RSI is oversold and the close crosses above Tenkan-sen."""

    name = "RSIIchimokuEntryMixin"
    rule = ("close > Ichimoku cloud AND RSI <= e_rsi_oversold AND close crosses above Tenkan-sen "
            "(previous close <= previous Tenkan, close > Tenkan)")
    params = RSI_ENTRY_PARAMS + (
        period("e_tenkan", 9, "Ichimoku Tenkan-sen (conversion line)"),
        period("e_kijun", 26, "Ichimoku Kijun-sen (base line; also the cloud displacement)"),
        period("e_senkou", 52, "Ichimoku Senkou span B"),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        p = self.p
        self._oversold = rsi_at_most(indicators, p.e_rsi_period, p.e_rsi_oversold)
        self._ichimoku = indicators.ichimoku(p.e_tenkan, p.e_kijun, p.e_senkou)
        self._indicators = indicators

    def should_enter(self, bar: Bar) -> bool:
        cloud = self._ichimoku
        close = bar.close
        return (close > cloud.cloud_top and self._oversold(bar) and close > cloud.tenkan
                and self._indicators.prev_close <= cloud.tenkan_prev)

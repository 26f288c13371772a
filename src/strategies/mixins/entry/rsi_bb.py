"""Mean-reversion entries on RSI and the lower Bollinger band (optionally confirmed by volume)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, EntryMixin
from strategies.mixins.entry.common import (BB_ENTRY_PARAMS, RSI_ENTRY_PARAMS, VOLUME_PARAMS,
                                            close_at_lower_band, rsi_at_most, volume_spike)

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class _RSIBBEntry(EntryMixin):
    """Shared part of the RSI + Bollinger entries (not registered: it has no name of its own)."""

    params = RSI_ENTRY_PARAMS + BB_ENTRY_PARAMS

    def init(self, indicators: "IndicatorSet") -> None:
        p = self.p
        self._oversold = rsi_at_most(indicators, p.e_rsi_period, p.e_rsi_oversold)
        self._at_lower_band = close_at_lower_band(indicators, p.e_bb_period, p.e_bb_dev)


class RSIBBEntryMixin(_RSIBBEntry):
    """Buy when RSI is oversold and the close is at or below the lower Bollinger band."""

    name = "RSIBBEntryMixin"
    rule = "RSI <= e_rsi_oversold AND close <= lower Bollinger band"

    def should_enter(self, bar: Bar) -> bool:
        return self._oversold(bar) and self._at_lower_band(bar)


class RSIOrBBEntryMixin(_RSIBBEntry):
    """Buy when RSI is oversold or the close is at or below the lower Bollinger band."""

    name = "RSIOrBBEntryMixin"
    rule = "RSI <= e_rsi_oversold OR close <= lower Bollinger band"

    def should_enter(self, bar: Bar) -> bool:
        return self._oversold(bar) or self._at_lower_band(bar)


class RSIBBVolumeEntryMixin(_RSIBBEntry):
    """RSIBBEntryMixin confirmed by a volume spike."""

    name = "RSIBBVolumeEntryMixin"
    rule = ("RSI <= e_rsi_oversold AND close <= lower Bollinger band AND "
            "volume > e_min_volume_ratio x SMA(volume, e_vol_ma_period)")
    params = RSI_ENTRY_PARAMS + BB_ENTRY_PARAMS + VOLUME_PARAMS

    def init(self, indicators: "IndicatorSet") -> None:
        super().init(indicators)
        self._volume_spike = volume_spike(indicators, self.p.e_vol_ma_period, self.p.e_min_volume_ratio)

    def should_enter(self, bar: Bar) -> bool:
        return self._oversold(bar) and self._at_lower_band(bar) and self._volume_spike(bar)

"""Entries that buy an oversold dip (RSI or lower band) on a volume spike inside a SuperTrend uptrend."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, EntryMixin
from strategies.mixins.entry.common import (BB_ENTRY_PARAMS, RSI_ENTRY_PARAMS, SUPERTREND_PARAMS,
                                            VOLUME_PARAMS, Condition, close_at_lower_band,
                                            rsi_at_most, supertrend_up, volume_spike)

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class _VolumeSupertrendEntry(EntryMixin):
    """Shared part: a dip condition (set by the subclass) AND volume spike AND SuperTrend up."""

    _dip: Condition

    def init(self, indicators: "IndicatorSet") -> None:
        p = self.p
        self._volume_spike = volume_spike(indicators, p.e_vol_ma_period, p.e_min_volume_ratio)
        self._uptrend = supertrend_up(indicators, p.e_st_period, p.e_st_multiplier)

    def should_enter(self, bar: Bar) -> bool:
        return self._dip(bar) and self._volume_spike(bar) and self._uptrend(bar)


class RSIVolumeSupertrendEntryMixin(_VolumeSupertrendEntry):
    """Buy an RSI-oversold bar with a volume spike while SuperTrend is up."""

    name = "RSIVolumeSupertrendEntryMixin"
    rule = ("RSI <= e_rsi_oversold AND volume > e_min_volume_ratio x SMA(volume, e_vol_ma_period) "
            "AND SuperTrend(e_st_period, e_st_multiplier) up")
    params = RSI_ENTRY_PARAMS + VOLUME_PARAMS + SUPERTREND_PARAMS

    def init(self, indicators: "IndicatorSet") -> None:
        super().init(indicators)
        self._dip = rsi_at_most(indicators, self.p.e_rsi_period, self.p.e_rsi_oversold)


class BBVolumeSupertrendEntryMixin(_VolumeSupertrendEntry):
    """Buy a close at or below the lower Bollinger band with a volume spike while SuperTrend is up."""

    name = "BBVolumeSupertrendEntryMixin"
    rule = ("close <= lower Bollinger band AND volume > e_min_volume_ratio x SMA(volume, "
            "e_vol_ma_period) AND SuperTrend(e_st_period, e_st_multiplier) up")
    params = BB_ENTRY_PARAMS + VOLUME_PARAMS + SUPERTREND_PARAMS

    def init(self, indicators: "IndicatorSet") -> None:
        super().init(indicators)
        self._dip = close_at_lower_band(indicators, self.p.e_bb_period, self.p.e_bb_dev)

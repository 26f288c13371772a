"""Entries that buy a dip (oversold RSI or the lower band) on a volume spike in a SuperTrend uptrend."""
from __future__ import annotations

from strategies.mixins.common import (BB_ENTRY_PARAMS, RSI_ENTRY_PARAMS, SUPERTREND_PARAMS,
                                      VOLUME_PARAMS, AllOfEntry, close_at_lower_band,
                                      rsi_oversold, supertrend_up, volume_spike)


class RSIVolumeSupertrendEntryMixin(AllOfEntry):
    """Buy an RSI-oversold bar with a volume spike while SuperTrend is up."""

    name = "RSIVolumeSupertrendEntryMixin"
    rule = ("RSI <= e_rsi_oversold AND volume > e_min_volume_ratio x SMA(volume, e_vol_ma_period) "
            "AND SuperTrend(e_st_period, e_st_multiplier) up")
    params = RSI_ENTRY_PARAMS + VOLUME_PARAMS + SUPERTREND_PARAMS
    conditions = (rsi_oversold, volume_spike, supertrend_up)


class BBVolumeSupertrendEntryMixin(AllOfEntry):
    """Buy a close at or below the lower Bollinger band with a volume spike while SuperTrend is up."""

    name = "BBVolumeSupertrendEntryMixin"
    rule = ("close <= lower Bollinger band AND volume > e_min_volume_ratio x SMA(volume, "
            "e_vol_ma_period) AND SuperTrend(e_st_period, e_st_multiplier) up")
    params = BB_ENTRY_PARAMS + VOLUME_PARAMS + SUPERTREND_PARAMS
    conditions = (close_at_lower_band, volume_spike, supertrend_up)

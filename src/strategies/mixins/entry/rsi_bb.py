"""Mean-reversion entries on RSI and the lower Bollinger band (optionally confirmed by volume)."""
from __future__ import annotations

from strategies.mixins.common import (BB_ENTRY_PARAMS, RSI_ENTRY_PARAMS, VOLUME_PARAMS,
                                      AllOfEntry, AnyOfEntry, close_at_lower_band, rsi_oversold,
                                      volume_spike)


class RSIBBEntryMixin(AllOfEntry):
    """Buy when RSI is oversold and the close is at or below the lower Bollinger band."""

    name = "RSIBBEntryMixin"
    rule = "RSI <= e_rsi_oversold AND close <= lower Bollinger band"
    params = RSI_ENTRY_PARAMS + BB_ENTRY_PARAMS
    conditions = (rsi_oversold, close_at_lower_band)


class RSIOrBBEntryMixin(AnyOfEntry):
    """Buy when RSI is oversold or the close is at or below the lower Bollinger band."""

    name = "RSIOrBBEntryMixin"
    rule = "RSI <= e_rsi_oversold OR close <= lower Bollinger band"
    params = RSI_ENTRY_PARAMS + BB_ENTRY_PARAMS
    conditions = (rsi_oversold, close_at_lower_band)


class RSIBBVolumeEntryMixin(AllOfEntry):
    """RSIBBEntryMixin confirmed by a volume spike."""

    name = "RSIBBVolumeEntryMixin"
    rule = ("RSI <= e_rsi_oversold AND close <= lower Bollinger band AND "
            "volume > e_min_volume_ratio x SMA(volume, e_vol_ma_period)")
    params = RSI_ENTRY_PARAMS + BB_ENTRY_PARAMS + VOLUME_PARAMS
    conditions = (rsi_oversold, close_at_lower_band, volume_spike)

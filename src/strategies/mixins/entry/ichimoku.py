"""An oversold pullback above the Ichimoku cloud that turns back up through the Tenkan-sen."""
from __future__ import annotations

from strategies.mixins.common import (ICHIMOKU_PARAMS, RSI_ENTRY_PARAMS, AllOfEntry, above_cloud,
                                      crosses_above_tenkan, rsi_oversold)


class RSIIchimokuEntryMixin(AllOfEntry):
    """Buy when the close is above the cloud, RSI is oversold and the close crosses above Tenkan-sen."""

    name = "RSIIchimokuEntryMixin"
    rule = ("close > Ichimoku cloud AND RSI <= e_rsi_oversold AND close crosses above Tenkan-sen "
            "(previous close <= previous Tenkan, close > Tenkan)")
    params = RSI_ENTRY_PARAMS + ICHIMOKU_PARAMS
    conditions = (above_cloud, rsi_oversold, crosses_above_tenkan)

"""Exits on an overbought RSI and the upper Bollinger band."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, ExitMixin, OpenTrade
from strategies.mixins.common import (bb_params, close_at_upper_band, rsi_overbought, rsi_params)

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class _RSIBBExit(ExitMixin):
    """Shared part of the RSI + Bollinger exits (not registered: it has no name of its own)."""

    params = rsi_params("x_", "overbought", 70.0, "RSI at or above this is overbought") + bb_params("x_")

    def init(self, indicators: "IndicatorSet") -> None:
        self._overbought = rsi_overbought(indicators, self.p)
        self._at_upper_band = close_at_upper_band(indicators, self.p)


class RSIBBExitMixin(_RSIBBExit):
    """Sell when RSI is overbought and the close is at or above the upper Bollinger band."""

    name = "RSIBBExitMixin"
    rule = "RSI >= x_rsi_overbought AND close >= upper Bollinger band"

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        if self._overbought(bar) and self._at_upper_band(bar):
            return "rsi_overbought_and_upper_band"
        return None


class RSIOrBBExitMixin(_RSIBBExit):
    """Sell when RSI is overbought or the close is at or above the upper Bollinger band.

    The reason names what fired: ``rsi_overbought``, ``upper_band`` or both.
    """

    name = "RSIOrBBExitMixin"
    rule = "RSI >= x_rsi_overbought OR close >= upper Bollinger band"

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        overbought, at_band = self._overbought(bar), self._at_upper_band(bar)
        if overbought and at_band:
            return "rsi_overbought_and_upper_band"
        if overbought:
            return "rsi_overbought"
        return "upper_band" if at_band else None

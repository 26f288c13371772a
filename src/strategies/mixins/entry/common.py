"""Building blocks shared by the built-in mixins: parameter declarations and bar conditions.

Entry and exit mixins both use these (exits import them from here), so ranges, docs and the exact
comparisons (<= oversold, >= overbought, close <= lower band, ...) are written once.
A condition is a plain closure ``bar -> bool`` over a shared streaming indicator; with nan during
warm-up every comparison is False, so nothing fires before the indicators are ready.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from strategies.mixins.base import Bar, Param

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet

Condition = Callable[[Bar], bool]

MAX_PERIOD = 1000


def period(name: str, default: int, what: str, minimum: int = 1) -> Param:
    """A look-back length in bars."""
    return Param(name, int, default, f"{what} period in bars", minimum=minimum, maximum=MAX_PERIOD)


def level(name: str, default: float, doc: str) -> Param:
    """An oscillator level on the 0..100 scale."""
    return Param(name, float, default, doc, minimum=0, maximum=100)


def positive(name: str, default: float, doc: str, maximum: float) -> Param:
    """A strictly positive multiplier or percentage (0.01 is the smallest accepted)."""
    return Param(name, float, default, doc, minimum=0.01, maximum=maximum)


def rsi_params(prefix: str, level_name: str, level_default: float, level_doc: str) -> tuple[Param, ...]:
    """RSI period and trigger level, e.g. ``e_rsi_period`` + ``e_rsi_oversold``."""
    return (period(f"{prefix}rsi_period", 14, "RSI (Wilder)"),
            level(f"{prefix}rsi_{level_name}", level_default, level_doc))


def bb_params(prefix: str) -> tuple[Param, ...]:
    """Bollinger period and width, e.g. ``e_bb_period`` + ``e_bb_dev``."""
    return (period(f"{prefix}bb_period", 20, "Bollinger Bands", minimum=2),
            positive(f"{prefix}bb_dev", 2.0, "Bollinger band width in population standard deviations",
                     maximum=10))


RSI_ENTRY_PARAMS = rsi_params("e_", "oversold", 30.0, "RSI at or below this is oversold")
BB_ENTRY_PARAMS = bb_params("e_")
VOLUME_PARAMS = (
    period("e_vol_ma_period", 20, "volume moving average"),
    Param("e_min_volume_ratio", float, 1.5,
          "volume must exceed this multiple of its moving average (which includes the current bar)",
          minimum=0, maximum=100),
)
SUPERTREND_PARAMS = (
    period("e_st_period", 10, "SuperTrend ATR"),
    positive("e_st_multiplier", 3.0, "SuperTrend band distance in ATRs", maximum=20),
)


def rsi_at_most(indicators: "IndicatorSet", rsi_period: int, threshold: float) -> Condition:
    """RSI <= threshold (oversold)."""
    rsi = indicators.rsi(rsi_period)
    return lambda bar: rsi.value <= threshold


def rsi_at_least(indicators: "IndicatorSet", rsi_period: int, threshold: float) -> Condition:
    """RSI >= threshold (overbought)."""
    rsi = indicators.rsi(rsi_period)
    return lambda bar: rsi.value >= threshold


def close_at_lower_band(indicators: "IndicatorSet", bb_period: int, dev: float) -> Condition:
    """Close <= lower Bollinger band."""
    bands = indicators.bollinger(bb_period, dev)
    return lambda bar: bar.close <= bands.bot


def close_at_upper_band(indicators: "IndicatorSet", bb_period: int, dev: float) -> Condition:
    """Close >= upper Bollinger band."""
    bands = indicators.bollinger(bb_period, dev)
    return lambda bar: bar.close >= bands.top


def volume_spike(indicators: "IndicatorSet", ma_period: int, ratio: float) -> Condition:
    """Volume > ratio x SMA(volume, ma_period); the average includes the current bar."""
    average = indicators.sma(ma_period, "volume")
    return lambda bar: bar.volume > ratio * average.value


def supertrend_up(indicators: "IndicatorSet", st_period: int, multiplier: float) -> Condition:
    """SuperTrend reports an uptrend."""
    trend = indicators.supertrend(st_period, multiplier)
    return lambda bar: trend.direction > 0

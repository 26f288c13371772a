"""Building blocks shared by the built-in mixins: parameter declarations and bar conditions.

Entry and exit mixins both use these (exits import them from here), so ranges, docs and the exact
comparisons (<= oversold, >= overbought, close <= lower band, ...) are written once.

A condition builder takes the shared :class:`IndicatorSet` and the mixin's resolved params (it
reads the params it documents, e.g. ``e_rsi_period`` and ``e_rsi_oversold``) and returns a plain
closure ``bar -> bool``. With nan during warm-up every comparison is False, so nothing fires
before the indicators are ready. Most entries are then just a list of conditions that must all
(:class:`AllOfEntry`) or any (:class:`AnyOfEntry`) hold.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ClassVar

from strategies.mixins.base import Bar, EntryMixin, Param, Params

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet

Condition = Callable[[Bar], bool]
ConditionBuilder = Callable[["IndicatorSet", Params], Condition]

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


def percent_distance(name: str, default: float, doc: str) -> Param:
    """A distance below a price in percent: 0.01 up to, not including, 100 (the price itself)."""
    return Param(name, float, default, doc, minimum=0.01, exclusive_maximum=100)


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


ICHIMOKU_PARAMS = (
    period("e_tenkan", 9, "Ichimoku Tenkan-sen (conversion line)"),
    period("e_kijun", 26, "Ichimoku Kijun-sen (base line; also the cloud displacement)"),
    period("e_senkou", 52, "Ichimoku Senkou span B"),
)


def rsi_oversold(indicators: "IndicatorSet", p: Params) -> Condition:
    """RSI(e_rsi_period) <= e_rsi_oversold."""
    rsi, threshold = indicators.rsi(p.e_rsi_period), p.e_rsi_oversold
    return lambda bar: rsi.value <= threshold


def rsi_overbought(indicators: "IndicatorSet", p: Params) -> Condition:
    """RSI(x_rsi_period) >= x_rsi_overbought."""
    rsi, threshold = indicators.rsi(p.x_rsi_period), p.x_rsi_overbought
    return lambda bar: rsi.value >= threshold


def close_at_lower_band(indicators: "IndicatorSet", p: Params) -> Condition:
    """Close <= lower Bollinger band (e_bb_period, e_bb_dev)."""
    bands = indicators.bollinger(p.e_bb_period, p.e_bb_dev)
    return lambda bar: bar.close <= bands.bot


def close_at_upper_band(indicators: "IndicatorSet", p: Params) -> Condition:
    """Close >= upper Bollinger band (x_bb_period, x_bb_dev)."""
    bands = indicators.bollinger(p.x_bb_period, p.x_bb_dev)
    return lambda bar: bar.close >= bands.top


def volume_spike(indicators: "IndicatorSet", p: Params) -> Condition:
    """Volume > e_min_volume_ratio x SMA(volume, e_vol_ma_period); the average includes this bar."""
    average, ratio = indicators.sma(p.e_vol_ma_period, "volume"), p.e_min_volume_ratio
    return lambda bar: bar.volume > ratio * average.value


def supertrend_up(indicators: "IndicatorSet", p: Params) -> Condition:
    """SuperTrend(e_st_period, e_st_multiplier) reports an uptrend."""
    trend = indicators.supertrend(p.e_st_period, p.e_st_multiplier)
    return lambda bar: trend.direction > 0


def above_cloud(indicators: "IndicatorSet", p: Params) -> Condition:
    """Close > the Ichimoku cloud at the current bar."""
    lines = indicators.ichimoku(p.e_tenkan, p.e_kijun, p.e_senkou)
    return lambda bar: bar.close > lines.cloud_top


def crosses_above_tenkan(indicators: "IndicatorSet", p: Params) -> Condition:
    """Previous close <= previous Tenkan-sen and close > Tenkan-sen."""
    lines = indicators.ichimoku(p.e_tenkan, p.e_kijun, p.e_senkou)
    return lambda bar: bar.close > lines.tenkan and indicators.prev_close <= lines.tenkan_prev


class AllOfEntry(EntryMixin):
    """An entry that fires when every one of its ``conditions`` holds (checked in order)."""

    conditions: ClassVar[tuple[ConditionBuilder, ...]] = ()

    def init(self, indicators: "IndicatorSet") -> None:
        self._checks = tuple(build(indicators, self.p) for build in self.conditions)

    def should_enter(self, bar: Bar) -> bool:
        for check in self._checks:  # a plain loop: cheaper per bar than all() over a generator
            if not check(bar):
                return False
        return True


class AnyOfEntry(AllOfEntry):
    """An entry that fires when at least one of its ``conditions`` holds."""

    def should_enter(self, bar: Bar) -> bool:
        for check in self._checks:
            if check(bar):
                return True
        return False

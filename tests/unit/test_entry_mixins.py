"""Entry mixins fire exactly on the bars their rule describes, driven through a real IndicatorSet."""
from __future__ import annotations

import pytest

from strategies.indicators import IndicatorSet
from strategies.mixins.base import Bar
from strategies.mixins.registry import MixinRegistry
from trading.core.errors import MixinError

REGISTRY = MixinRegistry.discover()

# 10 -> 15 then a fall: RSI(3) reads 66.7, 33.3, 15.7 on the last three bars; the lower band of
# BB(5, 1.0) is 12.58 then 10.67 (closes 12 and 9 touch it); with dev 2.0 it is 11.56 and 8.53
DIP = [10, 11, 12, 13, 14, 15, 14, 12, 9]
DIP_RSI_BB = {"e_rsi_period": 3, "e_bb_period": 5, "e_bb_dev": 1.0}

# a steady rise with 0.5 wicks, then two falling bars: RSI(2) 40.0 then 22.2, the lower BB(5, 1.0)
# band 17.74 is touched only by the last close (17.5), and SuperTrend(3, 3.0) stays up (its band
# is near 15.5) while SuperTrend(3, 0.5) flips down on the fall
PULLBACK = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 18.5, 17.5]
SPIKE_LAST = [100.0] * 12 + [400.0]  # 400 > 1.5 x mean(100, 100, 400)
SUPERTREND = {"e_vol_ma_period": 3, "e_min_volume_ratio": 1.5, "e_st_period": 3,
              "e_st_multiplier": 3.0}

# flat, a jump to 30, a slide to 21 and a small uptick to 21.2 that crosses above the Tenkan(2)
# (prev close 21 <= 22.5, 21.2 > 21.1) while RSI(2) = 35.6; Kijun 6 puts the cloud (computed six
# bars earlier on the flat part) at 10, below the close
ICHIMOKU = {"e_rsi_period": 2, "e_rsi_oversold": 40.0, "e_tenkan": 2, "e_kijun": 6, "e_senkou": 8}
UPTICK = [10] * 12 + [30, 27, 24, 21, 21.2]


def bars(closes, volumes=None, wick=0.0) -> list[Bar]:
    volumes = volumes or [100.0] * len(closes)
    return [Bar(300.0 * k, c, c + wick, c - wick, c, v) for k, (c, v) in enumerate(zip(closes, volumes))]


def entries(name: str, params: dict, sequence: list[Bar]) -> list[int]:
    """Indexes of the bars on which the entry mixin fires."""
    mixin = REGISTRY.build("entry", name, params)
    indicators = IndicatorSet()
    mixin.init(indicators)
    fired = []
    for k, bar in enumerate(sequence):
        indicators.update(bar)
        if mixin.should_enter(bar):
            fired.append(k)
    return fired


@pytest.mark.parametrize("params, expected", [
    ({}, [8]),                              # RSI 15.7 <= 30 and 9 <= 10.67
    ({"e_rsi_oversold": 40.0}, [7, 8]),     # RSI 33.3 now counts, and 12 <= 12.58
    ({"e_bb_dev": 2.0}, []),                # oversold, but the wider band is never touched
    ({"e_rsi_oversold": 10.0}, []),         # band touched, but RSI never that low
])
def test_rsibb_entry_needs_both_oversold_rsi_and_lower_band(params, expected):
    assert entries("RSIBBEntryMixin", {**DIP_RSI_BB, **params}, bars(DIP)) == expected


@pytest.mark.parametrize("params, expected", [
    ({}, [7, 8]),                                   # band at 7, both at 8
    ({"e_bb_dev": 2.0}, [8]),                       # RSI alone
    ({"e_rsi_oversold": 10.0}, [7, 8]),             # band alone
    ({"e_rsi_oversold": 10.0, "e_bb_dev": 2.0}, []),
])
def test_rsi_or_bb_entry_needs_either(params, expected):
    assert entries("RSIOrBBEntryMixin", {**DIP_RSI_BB, **params}, bars(DIP)) == expected


def test_rsibb_volume_entry_needs_a_volume_spike():
    params = {**DIP_RSI_BB, "e_vol_ma_period": 3, "e_min_volume_ratio": 1.5}
    spike = [100.0] * 8 + [400.0]
    assert entries("RSIBBVolumeEntryMixin", params, bars(DIP, spike)) == [8]
    assert entries("RSIBBVolumeEntryMixin", params, bars(DIP)) == []
    # 180 is not > 1.5 x mean(100, 100, 180) = 190: the average includes the current bar
    assert entries("RSIBBVolumeEntryMixin", params, bars(DIP, [100.0] * 8 + [180.0])) == []
    # without the RSI + band condition a spike alone does nothing
    assert entries("RSIBBVolumeEntryMixin", {**params, "e_bb_dev": 2.0}, bars(DIP, spike)) == []


def test_rsi_ichimoku_entry_fires_on_oversold_tenkan_cross_above_the_cloud():
    assert entries("RSIIchimokuEntryMixin", ICHIMOKU, bars(UPTICK)) == [16]


def test_rsi_ichimoku_entry_needs_each_condition():
    no_cross = UPTICK[:-1] + [20.8]           # keeps falling: close stays under the Tenkan
    assert entries("RSIIchimokuEntryMixin", ICHIMOKU, bars(no_cross)) == []
    assert entries("RSIIchimokuEntryMixin", {**ICHIMOKU, "e_rsi_oversold": 30.0}, bars(UPTICK)) == []
    # a spike to 40 on the flat part lifts the cloud six bars later to 25, above the 21.2 close
    high_cloud = [10] * 9 + [40, 10, 10] + UPTICK[12:]
    assert entries("RSIIchimokuEntryMixin", ICHIMOKU, bars(high_cloud)) == []


@pytest.mark.parametrize("name, dip, no_dip", [
    ("RSIVolumeSupertrendEntryMixin", {"e_rsi_period": 2, "e_rsi_oversold": 30.0},
     {"e_rsi_oversold": 20.0}),
    ("BBVolumeSupertrendEntryMixin", {"e_bb_period": 5, "e_bb_dev": 1.0}, {"e_bb_dev": 3.0}),
])
def test_volume_supertrend_entries_need_dip_volume_and_uptrend(name, dip, no_dip):
    params = {**SUPERTREND, **dip}
    spiked = bars(PULLBACK, SPIKE_LAST, 0.5)
    assert entries(name, params, spiked) == [12]
    assert entries(name, params, bars(PULLBACK, None, 0.5)) == []           # no volume spike
    assert entries(name, {**params, "e_st_multiplier": 0.5}, spiked) == []  # the fall flips the trend
    assert entries(name, {**params, **no_dip}, spiked) == []                # the dip is not deep enough


@pytest.mark.parametrize("name", REGISTRY.names("entry"))
def test_no_entry_during_warm_up(name):
    """A crash on the second bar is ignored: no indicator is ready yet."""
    crash = bars([100.0, 50.0], [1.0, 1000.0])
    assert entries(name, {}, crash) == []


def test_registry_discovers_exactly_the_builtin_entries():
    assert REGISTRY.names("entry") == sorted([
        "RSIBBEntryMixin", "RSIOrBBEntryMixin", "RSIBBVolumeEntryMixin", "RSIIchimokuEntryMixin",
        "RSIVolumeSupertrendEntryMixin", "BBVolumeSupertrendEntryMixin"])


@pytest.mark.parametrize("kind, name", [(kind, name) for kind in ("entry", "exit")
                                        for name in REGISTRY.names(kind)])
def test_every_builtin_mixin_declares_prefixed_documented_params(kind, name):
    cls = REGISTRY.find(kind, name)
    assert cls.rule and cls.params
    for param in cls.params:
        assert param.name.startswith(cls.prefix) and param.doc
        assert param.check(param.default) is None
    assert REGISTRY.build(kind, name).p.as_dict() == {p.name: p.default for p in cls.params}


def test_misspelt_param_gets_a_suggestion():
    with pytest.raises(MixinError, match="e_rsi_perod.*did you mean 'e_rsi_period'"):
        REGISTRY.build("entry", "RSIBBEntryMixin", {"e_rsi_perod": 14})


def test_out_of_range_param_is_refused():
    with pytest.raises(MixinError, match="e_rsi_oversold: must be <= 100"):
        REGISTRY.build("entry", "RSIBBEntryMixin", {"e_rsi_oversold": 130})
    with pytest.raises(MixinError, match="e_bb_period: must be >= 2"):
        REGISTRY.build("entry", "BBVolumeSupertrendEntryMixin", {"e_bb_period": 1})

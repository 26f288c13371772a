"""Exit mixins fire on the right bar with the right reason, keep per-trade state, survive a restart."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from strategies.indicators import IndicatorSet
from strategies.mixins.base import Bar, OpenTrade
from strategies.mixins.registry import MixinRegistry
from trading.core.errors import MixinError

REGISTRY = MixinRegistry.discover()
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
RISING = [10, 11, 12, 13, 14, 15, 16, 17]


def bar(k: int, close: float, high: float | None = None, low: float | None = None) -> Bar:
    high = close if high is None else high
    low = close if low is None else low
    return Bar(300.0 * k, close, high, low, close, 1.0)


class Run:
    """One exit mixin on a live IndicatorSet, fed bar by bar as CustomStrategy does."""

    def __init__(self, name: str, params: dict | None = None) -> None:
        self.mixin = REGISTRY.build("exit", name, params or {})
        self.indicators = IndicatorSet()
        self.mixin.init(self.indicators)
        self.k = 0

    def warm_up(self, sequence) -> None:
        for item in sequence:
            self.indicators.update(item if isinstance(item, Bar) else bar(self.k, item))
            self.k += 1

    def enter(self, price: float) -> OpenTrade:
        trade = OpenTrade("ETHBTC", 1.0, price, entry_ts=300.0 * self.k)
        self.mixin.on_entry(trade)
        return trade

    def hold(self, trade: OpenTrade, sequence) -> list[str | None]:
        """The exit reason (or None) on each bar."""
        tags = []
        for item in sequence:
            current = item if isinstance(item, Bar) else bar(self.k, item)
            trade.observe(current)
            self.indicators.update(current)
            tags.append(self.mixin.should_exit(trade, current))
            self.k += 1
        return tags


def rsi_bb(name: str, **params) -> list[str | None]:
    """Hold a position from the first bar while closes rise steadily by 1."""
    run = Run(name, {"x_rsi_period": 3, "x_bb_period": 5, **params})
    return run.hold(run.enter(10.0), RISING)


def test_rsibb_exit_needs_overbought_rsi_and_upper_band():
    # rising by 1: RSI(3) = 100 from bar 3; BB(5) top = close - 2 + dev x 1.414
    assert rsi_bb("RSIBBExitMixin", x_bb_dev=1.0) == [None] * 4 + ["rsi_overbought_and_upper_band"] * 4
    assert rsi_bb("RSIBBExitMixin", x_bb_dev=2.0) == [None] * 8


def test_rsi_or_bb_exit_names_which_condition_fired():
    assert rsi_bb("RSIOrBBExitMixin", x_bb_dev=2.0) == [None] * 3 + ["rsi_overbought"] * 5
    assert rsi_bb("RSIOrBBExitMixin", x_bb_dev=1.0) == [None] * 3 + ["rsi_overbought"] + \
        ["rsi_overbought_and_upper_band"] * 4
    # a choppy market that jumps above the BB(5, 1.0) top (12.67) with RSI(3) at 85, under 90
    run = Run("RSIOrBBExitMixin", {"x_rsi_period": 3, "x_rsi_overbought": 90.0, "x_bb_period": 5,
                                   "x_bb_dev": 1.0})
    assert run.hold(run.enter(10.0), [10, 11, 10, 11, 10, 11, 14])[-2:] == [None, "upper_band"]


def test_atr_exit_stops_under_highest_high_with_the_atr_frozen_at_entry():
    run = Run("ATRExitMixin", {"x_atr_period": 3, "x_sl_multiplier": 2.0})
    run.warm_up([bar(k, 10.0, 10.5, 9.5) for k in range(5)])  # true range 1 -> ATR 1
    trade = run.enter(10.0)
    assert trade.state["ATRExitMixin"]["atr"] == pytest.approx(1.0)
    # wide bar: highest high 13, stop 13 - 2 x 1 = 11; ATR rises to 2 but the stop keeps the entry ATR
    # next close 10.9 < 11 exits (with the live ATR, 1.73, the stop would be 9.53 and not fire)
    assert run.hold(trade, [bar(5, 12.0, 13.0, 9.0), bar(6, 10.9, 11.0, 10.8)]) == [None, "stop"]
    assert trade.state["ATRExitMixin"]["stop"] == pytest.approx(11.0)


def test_atr_exit_never_fires_when_atr_was_not_ready_at_entry_and_resets_next_trade():
    run = Run("ATRExitMixin", {"x_atr_period": 3, "x_sl_multiplier": 2.0})
    first = run.enter(10.0)  # no bar seen yet: ATR is nan
    assert first.state["ATRExitMixin"]["atr"] is None
    assert run.hold(first, [bar(k, 10.0 - k, 10.5 - k, 9.5 - k) for k in range(6)]) == [None] * 6
    second = run.enter(5.0)
    atr = second.state["ATRExitMixin"]["atr"]
    assert atr == run.indicators.atr(3).value == pytest.approx(1.4506, abs=1e-4)
    # stop 5 - 2 x 1.4506 = 2.099: a close of 2.0 exits
    assert run.hold(second, [bar(6, 2.0, 2.1, 1.9)]) == ["stop"]


def test_trailing_stop_arms_at_activation_then_trails_the_highest_close():
    run = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    trade = run.enter(100.0)
    # 101.5 is more than 2% under 104, but the stop is not armed before a close >= 105
    assert run.hold(trade, [104, 101.5]) == [None, None]
    assert trade.state["TrailingStopExitMixin"] == {"armed": False}
    # armed at 106; stop 103.88: 104 stays in, 103.5 exits
    assert run.hold(trade, [106, 104, 103.5]) == [None, None, "trailing"]


def test_trailing_stop_state_resets_for_the_next_trade():
    run = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    first = run.enter(100.0)
    assert run.hold(first, [106, 103]) == [None, "trailing"]
    second = run.enter(100.0)
    # 97.9 <= 100 x 0.98 would exit an armed stop; this trade never reached +5%
    assert run.hold(second, [99, 97.9]) == [None, None]


def test_trailing_stop_without_activation_arms_at_break_even():
    run = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0})
    assert run.hold(run.enter(100.0), [99.0, 101.0, 99.5, 98.9]) == [None, None, None, "trailing"]


def test_trailing_stop_resumes_armed_after_a_restart():
    run = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    trade = run.enter(100.0)
    run.hold(trade, [106])
    restored = OpenTrade.from_dict(json.loads(json.dumps(trade.to_dict())))
    fresh = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    assert fresh.hold(restored, [104, 103.5]) == [None, "trailing"]


def test_a_trailing_stop_added_to_an_open_position_is_armed_by_its_highest_close():
    # the position opened at 100 without this exit; its highest close since entry is known
    reached, short = (OpenTrade("ETHBTC", 1.0, 100.0, entry_ts=0.0, highest_close=106.0),
                      OpenTrade("ETHBTC", 1.0, 100.0, entry_ts=0.0, highest_close=104.0))
    run = Run("TrailingStopExitMixin", {"x_trail_pct": 2.0, "x_activation_pct": 5.0})
    for trade in (reached, short):
        run.mixin.on_restore(trade)
    assert reached.state["TrailingStopExitMixin"] == {"armed": True}
    assert short.state["TrailingStopExitMixin"] == {"armed": False}
    assert run.hold(reached, [103.8]) == ["trailing"]  # 106 x 0.98 = 103.88
    assert run.hold(short, [103.8]) == [None]


def test_an_atr_exit_added_to_an_open_position_takes_the_atr_at_restore():
    run = Run("ATRExitMixin", {"x_atr_period": 3, "x_sl_multiplier": 2.0})
    run.warm_up([bar(k, 10.0, 10.5, 9.5) for k in range(5)])  # ATR 1 now
    trade = OpenTrade("ETHBTC", 1.0, 9.0, entry_ts=0.0, highest_high=13.0)  # entry ATR unknown
    run.mixin.on_restore(trade)
    assert trade.state["ATRExitMixin"] == {"atr": pytest.approx(1.0), "stop": None}
    assert run.hold(trade, [bar(5, 10.9, 11.0, 10.8)]) == ["stop"]  # 13 - 2 x 1 = 11


def test_time_based_exit_by_bars_and_by_minutes():
    run = Run("TimeBasedExitMixin", {"x_max_bars": 3})
    assert run.hold(run.enter(1.0), [1, 1, 1]) == [None, None, "max_bars"]
    assert run.hold(run.enter(1.0), [1, 1, 1]) == [None, None, "max_bars"]  # counts from each entry
    run = Run("TimeBasedExitMixin", {"x_max_bars": 0, "x_max_minutes": 10})
    # 5-minute bars opening 5 and 10 minutes after the entry
    assert run.hold(run.enter(1.0), [bar(run.k + 1, 1.0), bar(run.k + 2, 1.0)]) == [None, "max_minutes"]


def test_time_based_exit_with_both_limits_off_never_fires():
    run = Run("TimeBasedExitMixin", {"x_max_bars": 0, "x_max_minutes": 0})
    assert run.hold(run.enter(1.0), [1.0] * 500) == [None] * 500


def test_fixed_ratio_exit_take_profit_and_stop():
    run = Run("FixedRatioExitMixin", {"x_take_profit_pct": 10.0, "x_stop_loss_pct": 5.0})
    assert run.hold(run.enter(100.0), [105, 109.9, 110.5]) == [None, None, "take_profit"]
    assert run.hold(run.enter(100.0), [96, 95.5, 94.5]) == [None, None, "stop"]
    assert run.hold(run.enter(200.0), [205, 195]) == [None, None]  # levels follow each entry price


@pytest.mark.parametrize("ma_type, cross_bar", [("sma", 7), ("ema", 8)])
def test_ma_crossover_exit_fires_once_on_the_cross_down(ma_type, cross_bar):
    # SMA(2)/SMA(4) at bar 7: 5.0 < 5.25 after 5.75 >= 5.125; the EMAs cross one bar later
    run = Run("MACrossoverExitMixin", {"x_fast_period": 2, "x_slow_period": 4, "x_ma_type": ma_type})
    tags = run.hold(run.enter(1.0), [1, 2, 3, 4, 5, 6, 5.5, 4.5, 4, 3])
    assert [k for k, tag in enumerate(tags) if tag] == [cross_bar]
    assert tags[cross_bar] == "ma_cross_down"


def test_ma_type_must_be_sma_or_ema():
    with pytest.raises(MixinError, match="x_ma_type: must be one of sma, ema"):
        REGISTRY.build("exit", "MACrossoverExitMixin", {"x_ma_type": "wma"})


def test_registry_discovers_exactly_the_builtin_exits():
    assert REGISTRY.names("exit") == sorted([
        "RSIBBExitMixin", "RSIOrBBExitMixin", "ATRExitMixin", "TrailingStopExitMixin",
        "TimeBasedExitMixin", "FixedRatioExitMixin", "MACrossoverExitMixin"])


@pytest.fixture(scope="module")
def sample_bars() -> list[Bar]:
    df = pd.read_csv(SAMPLE, nrows=800)
    return [Bar(300.0 * k, *row) for k, row in
            enumerate(df[["open", "high", "low", "close", "volume"]].itertuples(index=False))]


@pytest.mark.parametrize("name", REGISTRY.names("exit"))
def test_exit_resumes_identically_from_persisted_state(name, sample_bars):
    """Real candles: a restart from the stored trade (strict JSON) gives the same exit as no restart."""
    params = {"TimeBasedExitMixin": {"x_max_bars": 500},
              "ATRExitMixin": {"x_sl_multiplier": 5.0},
              "FixedRatioExitMixin": {"x_take_profit_pct": 3.0, "x_stop_loss_pct": 3.0},
              "TrailingStopExitMixin": {"x_trail_pct": 0.5, "x_activation_pct": 0.3}}.get(name, {})
    warm, held = sample_bars[:200], sample_bars[200:]
    straight = Run(name, params)
    straight.warm_up(warm)
    trade = straight.enter(warm[-1].close)
    expected = straight.hold(trade, held)
    assert any(expected), "the rule never fired on the sample: the test would prove nothing"
    stop_at = expected.index(next(tag for tag in expected if tag))

    before = Run(name, params)
    before.warm_up(warm)
    trade = before.enter(warm[-1].close)
    resumed_before = before.hold(trade, held[:stop_at // 2])
    stored = json.dumps(trade.to_dict(), allow_nan=False)
    after = Run(name, params)
    after.warm_up(warm + held[:stop_at // 2])  # the bot reloads history, then restores the trade
    resumed_after = after.hold(OpenTrade.from_dict(json.loads(stored)), held[stop_at // 2:])
    assert resumed_before + resumed_after == expected

"""Streaming indicators agree with an independent vectorised numpy/pandas computation on real data."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from strategies.indicators import IndicatorSet
from strategies.mixins.base import Bar

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"
REL = 1e-9


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE)
    assert len(df) == 5760
    return df


def stream(df: pd.DataFrame, request, read) -> np.ndarray:
    """Feed every candle through a fresh IndicatorSet; ``read(indicator)`` after each bar."""
    ind = IndicatorSet()
    indicator = request(ind)
    ts = pd.to_datetime(df["datetime"]).astype("int64") // 10**9
    out = []
    for t, row in zip(ts, df[["open", "high", "low", "close", "volume"]].itertuples(index=False)):
        ind.update(Bar(float(t), *row))
        out.append(read(indicator))
    return np.array(out, dtype=float)


def assert_matches(got: np.ndarray, expected, first_valid: int, rel: float = REL) -> None:
    """nan exactly during warm-up, then equal to the reference within ``rel``."""
    expected = np.asarray(expected, dtype=float)
    assert np.isnan(got[:first_valid]).all(), "value reported before the warm-up is over"
    assert not np.isnan(got[first_valid:]).any()
    np.testing.assert_allclose(got[first_valid:], expected[first_valid:], rtol=rel, atol=0)


def wilder(values: pd.Series, period: int, first: int) -> pd.Series:
    """Wilder smoothing seeded with the mean of values[first - period + 1 .. first]."""
    seeded = values.copy()
    seeded.iloc[:first] = np.nan
    seeded.iloc[first] = values.iloc[first - period + 1:first + 1].mean()
    return seeded.ewm(alpha=1.0 / period, adjust=False).mean()


def true_range(df: pd.DataFrame) -> pd.Series:
    prev = df["close"].shift(1)
    tr = pd.concat([df["high"] - df["low"], (df["high"] - prev).abs(), (df["low"] - prev).abs()],
                   axis=1).max(axis=1)
    tr.iloc[0] = df["high"].iloc[0] - df["low"].iloc[0]
    return tr


@pytest.mark.parametrize("period", [14, 2])
def test_rsi_is_wilders_rsi(candles, period):
    delta = candles["close"].diff()
    gain = wilder(delta.clip(lower=0), period, period)
    loss = wilder((-delta).clip(lower=0), period, period)
    expected = np.where(loss == 0, 100.0, 100.0 * gain / (gain + loss))
    got = stream(candles, lambda i: i.rsi(period), lambda r: r.value)
    assert_matches(got, expected, period)
    assert (got[period:] < 30).any() and (got[period:] > 70).any()


def test_bollinger_is_sma_plus_minus_population_std(candles):
    closes = candles["close"].to_numpy()
    windows = sliding_window_view(closes, 20)
    mid = np.r_[np.full(19, np.nan), windows.mean(axis=1)]
    std = np.r_[np.full(19, np.nan), windows.std(axis=1, ddof=0)]
    got = stream(candles, lambda i: i.bollinger(20, 2.0), lambda b: (b.mid, b.top, b.bot))
    assert_matches(got[:, 0], mid, 19)
    assert_matches(got[:, 1], mid + 2.0 * std, 19)
    assert_matches(got[:, 2], mid - 2.0 * std, 19)
    assert_matches((got[:, 1] - got[:, 0]) / 2.0, std, 19, rel=1e-7)


def test_bollinger_width_is_exact_on_tiny_prices():
    """Prices like 0.0016 moving by 1e-9: a sum-of-squares variance would lose most digits."""
    digits = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
    closes = 0.0016 + 1e-9 * np.array(digits, dtype=float)
    ind = IndicatorSet()
    bands = ind.bollinger(20, 1.0)
    for k, c in enumerate(closes):
        ind.update(Bar(k * 60.0, c, c, c, c, 1.0))
    assert bands.top - bands.mid == pytest.approx(closes.std(), rel=1e-6)


def test_volume_sma_and_prev(candles):
    volume = candles["volume"].to_numpy()
    expected = np.r_[np.full(19, np.nan), sliding_window_view(volume, 20).mean(axis=1)]
    got = stream(candles, lambda i: i.sma(20, "volume"), lambda s: (s.value, s.prev))
    assert_matches(got[:, 0], expected, 19)
    assert_matches(got[:, 1], np.r_[np.nan, expected[:-1]], 20)


def test_ema_seeded_with_sma(candles):
    seeded = candles["close"].copy()
    seeded.iloc[:9] = np.nan
    seeded.iloc[9] = candles["close"].iloc[:10].mean()
    expected = seeded.ewm(span=10, adjust=False).mean().to_numpy()
    got = stream(candles, lambda i: i.ema(10), lambda e: (e.value, e.prev))
    assert_matches(got[:, 0], expected, 9)
    assert_matches(got[:, 1], np.r_[np.nan, expected[:-1]], 10)


def test_atr_is_wilders(candles):
    expected = wilder(true_range(candles), 14, 13)
    got = stream(candles, lambda i: i.atr(14), lambda a: a.value)
    assert_matches(got, expected, 13)


def reference_supertrend(df: pd.DataFrame, period: int,
                         multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """TradingView's ta.supertrend, written from its Pine source (direction +1 = up here)."""
    atr = wilder(true_range(df), period, period - 1).to_numpy()
    hl2 = ((df["high"] + df["low"]) / 2).to_numpy()
    close = df["close"].to_numpy()
    basic_up, basic_dn = hl2 + multiplier * atr, hl2 - multiplier * atr
    n = len(df)
    up, dn = np.zeros(n), np.zeros(n)
    trend, value = np.zeros(n), np.full(n, np.nan)
    for t in range(period - 1, n):
        prev_up, prev_dn = (up[t - 1], dn[t - 1]) if t >= period else (0.0, 0.0)
        up[t] = basic_up[t] if basic_up[t] < prev_up or close[t - 1] > prev_up else prev_up
        dn[t] = basic_dn[t] if basic_dn[t] > prev_dn or close[t - 1] < prev_dn else prev_dn
        if t == period - 1:
            trend[t] = -1
        elif value[t - 1] == up[t - 1]:
            trend[t] = 1 if close[t] > up[t] else -1
        else:
            trend[t] = -1 if close[t] < dn[t] else 1
        value[t] = dn[t] if trend[t] == 1 else up[t]
    return trend, value


def test_supertrend_direction_and_band(candles):
    trend, value = reference_supertrend(candles, 10, 3.0)
    got = stream(candles, lambda i: i.supertrend(10, 3.0), lambda s: (s.direction, s.value))
    assert (got[:9, 0] == 0).all()
    np.testing.assert_array_equal(got[9:, 0], trend[9:])
    assert_matches(got[:, 1], value, 9)
    flips = np.count_nonzero(np.diff(got[9:, 0]))
    assert flips > 20  # the sample has real trend changes, so direction is exercised both ways


def test_ichimoku_lines_and_cloud_at_current_bar(candles):
    def mid(n: int) -> pd.Series:
        return (candles["high"].rolling(n).max() + candles["low"].rolling(n).min()) / 2

    tenkan, kijun = mid(9), mid(26)
    span_a, span_b = ((tenkan + kijun) / 2).shift(26), mid(52).shift(26)
    got = stream(candles, lambda i: i.ichimoku(9, 26, 52),
                 lambda k: (k.tenkan, k.kijun, k.tenkan_prev, k.cloud_top, k.cloud_bottom))
    assert_matches(got[:, 0], tenkan, 8)
    assert_matches(got[:, 1], kijun, 25)
    assert_matches(got[:, 2], tenkan.shift(1), 9)
    assert_matches(got[:, 3], np.maximum(span_a, span_b), 51 + 26)
    assert_matches(got[:, 4], np.minimum(span_a, span_b), 51 + 26)


def test_identical_requests_share_one_indicator():
    ind = IndicatorSet()
    rsi = ind.rsi(14)
    assert ind.rsi(14) is rsi
    assert ind.rsi(7) is not rsi
    assert ind.bollinger(20, 2.0) is ind.bollinger(20, 2)
    assert ind.sma(20, "volume") is ind.sma(20, "volume")
    assert ind.sma(20, "volume") is not ind.sma(20)
    assert ind.supertrend(10, 3.0).direction == 0
    assert ind.ichimoku(9, 26, 52) is ind.ichimoku(9, 26, 52)
    # rsi, rsi7, sma20 close (under bollinger), bollinger, sma20 volume, atr10, supertrend,
    # donchian 9/26/52, ichimoku: each maintained once
    assert len(ind) == 11


def test_shared_indicator_is_updated_once_per_bar():
    ind = IndicatorSet()
    first, second = ind.sma(2), ind.sma(2)
    ind.bollinger(2, 1.0)  # builds on the same SMA
    for k, close in enumerate([1.0, 2.0, 4.0]):
        ind.update(Bar(k * 60.0, close, close, close, close, 1.0))
    assert first is second
    assert first.value == 3.0 and first.prev == 1.5
    assert ind.prev_close == 2.0 and ind.bar.close == 4.0


def test_values_are_nan_during_warm_up():
    ind = IndicatorSet()
    rsi, atr, ema = ind.rsi(3), ind.atr(3), ind.ema(3)
    for k, close in enumerate([1.0, 2.0, 3.0]):
        ind.update(Bar(k * 60.0, close, close + 1, close - 1, close, 1.0))
        assert math.isnan(rsi.value)
    assert not math.isnan(atr.value) and not math.isnan(ema.value)
    assert math.isnan(IndicatorSet().prev_close)


def test_bad_requests_are_refused():
    ind = IndicatorSet()
    with pytest.raises(ValueError, match="field"):
        ind.sma(10, "vwap")
    with pytest.raises(ValueError, match=">= 2"):
        ind.bollinger(1, 2.0)
    ind.update(Bar(0.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    with pytest.raises(RuntimeError, match="init"):
        ind.rsi(14)

"""Streaming indicators: one small update per closed bar, shared by every mixin of a strategy run.

Why pure Python and not Backtrader indicators: the same objects run in replay and live, so the
values (and the trades they cause) are bit-identical on both paths, and the per-bar cost stays
around a microsecond per indicator. No numpy in ``update``: for windows of ~20 values its call
overhead is larger than the arithmetic.

Every value is ``math.nan`` until enough bars have been seen; comparisons with nan are False, so
rules simply do not fire during warm-up. Window indicators (SMA, Bollinger, Donchian) are an exact
function of their last ``period`` bars; recursive ones (RSI, EMA, ATR, SuperTrend) depend on where
the history started, as they do everywhere.
"""
from __future__ import annotations

import math
from collections import deque
from operator import mul
from typing import Any, Callable, TypeVar

from strategies.mixins.base import Bar

NAN = math.nan
FIELDS = ("open", "high", "low", "close", "volume")

_I = TypeVar("_I", bound="Indicator")


class Indicator:
    """One streaming indicator; its :class:`IndicatorSet` calls ``update`` once per closed bar."""

    __slots__ = ()

    def update(self, bar: Bar, prev_close: float) -> None:
        """Take one closed bar; ``prev_close`` is the previous bar's close (nan on the first)."""
        raise NotImplementedError


class SMA(Indicator):
    """Simple moving average of one bar field over the last ``period`` bars (``.value``, ``.prev``)."""

    __slots__ = ("period", "field", "window", "value", "prev", "_index")

    def __init__(self, period: int, field: str = "close") -> None:
        self.period = period
        self.field = field
        self._index = Bar._fields.index(field)
        self.window: deque[float] = deque(maxlen=period)
        self.value = NAN
        self.prev = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        window = self.window
        window.append(bar[self._index])
        self.prev = self.value
        if len(window) == self.period:
            # re-summed each bar (C speed for small windows) so the value never drifts
            self.value = sum(window) / self.period


class EMA(Indicator):
    """Exponential moving average of one bar field (``.value``, ``.prev``).

    Seeded with the simple mean of the first ``period`` values, then ``alpha = 2 / (period + 1)``.
    """

    __slots__ = ("period", "field", "alpha", "value", "prev", "_index", "_seen", "_seed")

    def __init__(self, period: int, field: str = "close") -> None:
        self.period = period
        self.field = field
        self.alpha = 2.0 / (period + 1)
        self._index = Bar._fields.index(field)
        self._seen = 0
        self._seed = 0.0
        self.value = NAN
        self.prev = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        x = bar[self._index]
        self.prev = value = self.value
        if self._seen >= self.period:
            self.value = value + self.alpha * (x - value)
            return
        self._seen += 1
        self._seed += x
        if self._seen == self.period:
            self.value = self._seed / self.period


class RSI(Indicator):
    """Wilder's Relative Strength Index of the close (``.value``, 0..100).

    The first value comes after ``period`` close-to-close changes: the average gain and loss are
    seeded with the simple mean of those changes, then smoothed ``avg = (avg*(n-1) + x) / n``.
    An average loss of zero gives 100.
    """

    __slots__ = ("period", "value", "avg_gain", "avg_loss", "_changes")

    def __init__(self, period: int) -> None:
        self.period = period
        self.value = NAN
        self.avg_gain = 0.0
        self.avg_loss = 0.0
        self._changes = 0

    def update(self, bar: Bar, prev_close: float) -> None:
        if prev_close != prev_close:  # first bar: no change yet
            return
        change = bar.close - prev_close
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        n = self.period
        if self._changes >= n:
            self.avg_gain = (self.avg_gain * (n - 1) + gain) / n
            self.avg_loss = (self.avg_loss * (n - 1) + loss) / n
        else:
            self._changes += 1
            self.avg_gain += gain
            self.avg_loss += loss
            if self._changes < n:
                return
            self.avg_gain /= n
            self.avg_loss /= n
        avg_loss = self.avg_loss
        self.value = 100.0 if avg_loss == 0.0 else 100.0 - 100.0 / (1.0 + self.avg_gain / avg_loss)


class Bollinger(Indicator):
    """Bollinger Bands on the close: ``.mid`` = SMA, ``.top``/``.bot`` = mid +/- dev x population std.

    The variance is computed two-pass from the window (mean first, then squared deviations):
    the sum-of-squares shortcut cancels badly on small prices such as 0.0016.
    """

    __slots__ = ("period", "dev", "mid", "top", "bot", "_sma")

    def __init__(self, sma: SMA, dev: float) -> None:
        self._sma = sma
        self.period = sma.period
        self.dev = dev
        self.mid = NAN
        self.top = NAN
        self.bot = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        mid = self._sma.value
        if mid != mid:
            return
        deviations = [x - mid for x in self._sma.window]
        width = self.dev * math.sqrt(sum(map(mul, deviations, deviations)) / self.period)
        self.mid = mid
        self.top = mid + width
        self.bot = mid - width


class ATR(Indicator):
    """Wilder's Average True Range (``.value``).

    True range uses the previous close (the first bar's is high - low); seeded with the mean of
    the first ``period`` true ranges, then Wilder-smoothed.
    """

    __slots__ = ("period", "value", "_seen", "_seed")

    def __init__(self, period: int) -> None:
        self.period = period
        self.value = NAN
        self._seen = 0
        self._seed = 0.0

    def update(self, bar: Bar, prev_close: float) -> None:
        high, low = bar.high, bar.low
        tr = high - low
        if prev_close == prev_close:
            if high - prev_close > tr:
                tr = high - prev_close
            if prev_close - low > tr:
                tr = prev_close - low
        n = self.period
        if self._seen >= n:
            self.value = (self.value * (n - 1) + tr) / n
            return
        self._seen += 1
        self._seed += tr
        if self._seen == n:
            self.value = self._seed / n


class SuperTrend(Indicator):
    """SuperTrend on hl2 +/- multiplier x ATR (Wilder): ``.value`` (the active band), ``.direction``.

    ``direction`` is +1 in an uptrend (value = the lower band), -1 in a downtrend (value = the upper
    band) and 0 before the ATR is ready. The final bands follow the usual recursion: the upper band
    only moves down (and the lower only up) unless the previous close broke through it. As in
    TradingView's ``ta.supertrend``, the first ready bar starts in a downtrend, so an uptrend is
    only reported once a close has broken above the upper band.
    """

    __slots__ = ("multiplier", "value", "direction", "upper", "lower", "_atr")

    def __init__(self, atr: ATR, multiplier: float) -> None:
        self._atr = atr
        self.multiplier = multiplier
        self.value = NAN
        self.direction = 0
        self.upper = NAN
        self.lower = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        atr = self._atr.value
        if atr != atr:
            return
        hl2 = (bar.high + bar.low) / 2.0
        upper = hl2 + self.multiplier * atr
        lower = hl2 - self.multiplier * atr
        close = bar.close
        if self.direction == 0:
            direction = -1
        else:
            prev_upper, prev_lower = self.upper, self.lower
            if not (upper < prev_upper or prev_close > prev_upper):
                upper = prev_upper
            if not (lower > prev_lower or prev_close < prev_lower):
                lower = prev_lower
            if self.direction < 0:
                direction = 1 if close > upper else -1
            else:
                direction = -1 if close < lower else 1
        self.upper = upper
        self.lower = lower
        self.direction = direction
        self.value = lower if direction > 0 else upper


class Donchian(Indicator):
    """Highest high (``.upper``), lowest low (``.lower``) and midpoint (``.mid``) of ``period`` bars."""

    __slots__ = ("period", "upper", "lower", "mid", "_highs", "_lows")

    def __init__(self, period: int) -> None:
        self.period = period
        self._highs: deque[float] = deque(maxlen=period)
        self._lows: deque[float] = deque(maxlen=period)
        self.upper = NAN
        self.lower = NAN
        self.mid = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        highs, lows = self._highs, self._lows
        high, low = bar.high, bar.low
        if len(highs) < self.period:
            highs.append(high)
            lows.append(low)
            if len(highs) < self.period:
                return
            upper, lower = max(highs), min(lows)
        else:
            # rescan a window only when its extreme just dropped out (max/min are exact, so this
            # gives the same values as a full rescan every bar, at a fraction of the cost)
            dropped_high, dropped_low = highs[0], lows[0]
            highs.append(high)
            lows.append(low)
            upper, lower = self.upper, self.lower
            if high >= upper:
                upper = high
            elif dropped_high == upper:
                upper = max(highs)
            if low <= lower:
                lower = low
            elif dropped_low == lower:
                lower = min(lows)
        self.upper = upper
        self.lower = lower
        self.mid = (upper + lower) / 2.0


class Ichimoku(Indicator):
    """Ichimoku lines: ``.tenkan``, ``.kijun``, ``.tenkan_prev`` and the cloud at the current bar.

    Tenkan-sen and Kijun-sen are the Donchian midpoints over ``tenkan`` and ``kijun`` bars; span A
    is (tenkan + kijun) / 2 and span B the Donchian midpoint over ``senkou`` bars. Both spans are
    plotted ``kijun`` bars ahead, so the cloud at the current bar (``.cloud_top`` = max of the two,
    ``.cloud_bottom`` = min) uses the spans computed ``kijun`` bars ago.
    """

    __slots__ = ("tenkan", "kijun", "tenkan_prev", "cloud_top", "cloud_bottom",
                 "_tenkan", "_kijun", "_senkou", "_spans")

    def __init__(self, tenkan: Donchian, kijun: Donchian, senkou: Donchian) -> None:
        self._tenkan = tenkan
        self._kijun = kijun
        self._senkou = senkou
        self._spans: deque[tuple[float, float]] = deque(maxlen=kijun.period + 1)
        self.tenkan = NAN
        self.kijun = NAN
        self.tenkan_prev = NAN
        self.cloud_top = NAN
        self.cloud_bottom = NAN

    def update(self, bar: Bar, prev_close: float) -> None:
        self.tenkan_prev = self.tenkan
        self.tenkan = tenkan = self._tenkan.mid
        self.kijun = kijun = self._kijun.mid
        spans = self._spans
        spans.append(((tenkan + kijun) / 2.0, self._senkou.mid))
        if len(spans) == spans.maxlen:
            span_a, span_b = spans[0]  # computed `kijun` bars ago
            if span_a == span_a and span_b == span_b:
                self.cloud_top = span_a if span_a > span_b else span_b
                self.cloud_bottom = span_b if span_a > span_b else span_a


def _period(period: int, minimum: int = 1) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        raise ValueError(f"indicator period must be an integer >= {minimum}, got {period!r}")
    return period


def _field(field: str) -> str:
    if field not in FIELDS:
        raise ValueError(f"indicator field must be one of {', '.join(FIELDS)}, got {field!r}")
    return field


class IndicatorSet:
    """Shared, de-duplicated streaming indicators for one strategy run.

    Asking twice for the same indicator with the same parameters returns the same object, so entry
    and exit mixins share the work. Indicators are requested before the first bar (in the mixins'
    ``init``); ``update`` then advances each one exactly once per closed bar, in creation order
    (an indicator built on another is always created, and so updated, after it).
    """

    __slots__ = ("bar", "prev_close", "_by_key", "_updates")

    def __init__(self) -> None:
        self.bar: Bar | None = None
        self.prev_close = NAN
        self._by_key: dict[tuple[Any, ...], Indicator] = {}
        self._updates: list[Callable[[Bar, float], None]] = []

    def __len__(self) -> int:
        """How many distinct indicators are maintained."""
        return len(self._updates)

    def requested(self) -> list[tuple[tuple[Any, ...], Indicator]]:
        """Every indicator with its key (its class, then its parameters), in creation order."""
        return list(self._by_key.items())

    def update(self, bar: Bar) -> None:
        """Advance every indicator by one closed bar."""
        previous = self.bar
        prev_close = NAN if previous is None else previous.close
        self.prev_close = prev_close
        self.bar = bar
        for update in self._updates:
            update(bar, prev_close)

    def _shared(self, key: tuple[Any, ...], make: Callable[[], _I]) -> _I:
        found = self._by_key.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        if self.bar is not None:
            # a late indicator would silently start mid-stream and disagree with a fresh run
            raise RuntimeError(f"indicator {key[0].__name__}{key[1:]} requested after bars were "
                               "processed; request indicators in the mixins' init()")
        indicator = make()  # may request (and so register first) the indicators it builds on
        self._by_key[key] = indicator
        self._updates.append(indicator.update)
        return indicator

    def sma(self, period: int, field: str = "close") -> SMA:
        """Simple moving average of ``field`` (open/high/low/close/volume)."""
        return self._shared((SMA, _period(period), _field(field)), lambda: SMA(period, field))

    def ema(self, period: int, field: str = "close") -> EMA:
        """Exponential moving average of ``field``, seeded with the SMA of the first values."""
        return self._shared((EMA, _period(period), _field(field)), lambda: EMA(period, field))

    def rsi(self, period: int) -> RSI:
        """Wilder's RSI of the close."""
        return self._shared((RSI, _period(period)), lambda: RSI(period))

    def bollinger(self, period: int, dev: float) -> Bollinger:
        """Bollinger Bands: SMA of the close +/- ``dev`` population standard deviations."""
        return self._shared((Bollinger, _period(period, 2), float(dev)),
                            lambda: Bollinger(self.sma(period), float(dev)))

    def atr(self, period: int) -> ATR:
        """Wilder's Average True Range."""
        return self._shared((ATR, _period(period)), lambda: ATR(period))

    def supertrend(self, period: int, multiplier: float) -> SuperTrend:
        """SuperTrend over ATR(``period``) with band width ``multiplier`` x ATR."""
        return self._shared((SuperTrend, _period(period), float(multiplier)),
                            lambda: SuperTrend(self.atr(period), float(multiplier)))

    def donchian(self, period: int) -> Donchian:
        """Highest high / lowest low channel over ``period`` bars."""
        return self._shared((Donchian, _period(period)), lambda: Donchian(period))

    def ichimoku(self, tenkan: int, kijun: int, senkou: int) -> Ichimoku:
        """Ichimoku Tenkan/Kijun and the cloud at the current bar."""
        key = (Ichimoku, _period(tenkan), _period(kijun), _period(senkou))
        return self._shared(key, lambda: Ichimoku(self.donchian(tenkan), self.donchian(kijun),
                                                  self.donchian(senkou)))

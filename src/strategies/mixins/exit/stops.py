"""Price-level exits: ATR stop under the highest high, trailing stop, fixed take-profit/stop-loss."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strategies.mixins.base import Bar, ExitMixin, OpenTrade, Param
from strategies.mixins.common import percent_distance, period, positive

if TYPE_CHECKING:
    from strategies.indicators import IndicatorSet


class ATRExitMixin(ExitMixin):
    """Chandelier-style stop: highest high since entry minus k x the ATR measured at entry.

    The ATR is frozen at ``on_entry`` (kept in ``trade.state`` so a restart uses the same value).
    If the ATR was not ready yet at entry (nan during warm-up), this mixin never fires for that
    trade; pair it with another exit when entries can happen that early. Added to the config
    while a position is open, it takes the ATR at the restart (``on_restore``): the one at entry
    is gone.
    """

    name = "ATRExitMixin"
    rule = "close < highest high since entry - x_sl_multiplier x ATR(x_atr_period) at entry"
    params = (
        period("x_atr_period", 14, "ATR (Wilder)"),
        positive("x_sl_multiplier", 2.0, "stop distance below the highest high, in ATRs at entry",
                 maximum=50),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        self._atr = indicators.atr(self.p.x_atr_period)
        self._multiplier = self.p.x_sl_multiplier

    def on_entry(self, trade: OpenTrade) -> None:
        atr = self._atr.value
        # None, not nan: the state must stay strict JSON
        trade.state[self.name] = {"atr": atr if atr == atr else None, "stop": None}

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        state = trade.state.get(self.name)
        if not state or state.get("atr") is None:
            return None
        stop = trade.highest_high - self._multiplier * state["atr"]
        state["stop"] = stop
        return "stop" if bar.close < stop else None


class TrailingStopExitMixin(ExitMixin):
    """Trailing stop under the highest close since entry, armed once the trade is enough in profit."""

    name = "TrailingStopExitMixin"
    rule = ("once close >= entry x (1 + x_activation_pct/100): close <= highest close since entry "
            "x (1 - x_trail_pct/100)")
    params = (
        percent_distance("x_trail_pct", 2.0,
                         "trailing distance below the highest close since entry, in percent"),
        Param("x_activation_pct", float, 0.0,
              "profit in percent of the entry price that arms the trailing stop (0 = at break-even)",
              minimum=0, maximum=1000),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        self._arm_factor = 1.0 + self.p.x_activation_pct / 100.0
        self._keep_factor = 1.0 - self.p.x_trail_pct / 100.0

    def on_entry(self, trade: OpenTrade) -> None:
        trade.state[self.name] = {"armed": False}

    def on_restore(self, trade: OpenTrade) -> None:
        """Armed when the highest close since entry already reached the activation level."""
        trade.state[self.name] = {"armed": trade.highest_close >= trade.entry_price * self._arm_factor}

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        state = trade.state.setdefault(self.name, {"armed": False})
        if not state["armed"]:
            if bar.close < trade.entry_price * self._arm_factor:
                return None
            state["armed"] = True
        return "trailing" if bar.close <= trade.highest_close * self._keep_factor else None


class FixedRatioExitMixin(ExitMixin):
    """Fixed take-profit and stop-loss as percentages of the entry price."""

    name = "FixedRatioExitMixin"
    rule = ("close >= entry x (1 + x_take_profit_pct/100) (take_profit) OR "
            "close <= entry x (1 - x_stop_loss_pct/100) (stop)")
    params = (
        positive("x_take_profit_pct", 10.0, "take profit at this gain over the entry price, in percent",
                 maximum=1000),
        percent_distance("x_stop_loss_pct", 5.0,
                         "stop out at this loss below the entry price, in percent"),
    )

    def init(self, indicators: "IndicatorSet") -> None:
        self._take_factor = 1.0 + self.p.x_take_profit_pct / 100.0
        self._stop_factor = 1.0 - self.p.x_stop_loss_pct / 100.0

    def should_exit(self, trade: OpenTrade, bar: Bar) -> str | None:
        if bar.close >= trade.entry_price * self._take_factor:
            return "take_profit"
        if bar.close <= trade.entry_price * self._stop_factor:
            return "stop"
        return None

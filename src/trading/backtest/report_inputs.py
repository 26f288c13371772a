"""What a report is made from: one replay's result, the run's settings and its provenance.

A basket's report holds every symbol: its views (bars, trades), its indicators for report.html,
the per-symbol table; ``focus`` is the one symbol ``--symbol`` picked for trades.png and for the
page to open on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np

from trading.backtest.indicator_lines import indicator_panes
from trading.backtest.metrics import by_exit_reason, drawdown_series
from trading.backtest.periods import UNITS, by_period
from trading.backtest.provenance import Provenance, run_provenance
from trading.backtest.replay import ReplayResult
from trading.backtest.symbol_views import SymbolView, by_symbol, market_line, symbol_views, view_of
from trading.config.loading import CheckedConfig


MAX_CANDLES = 4000  # report.html draws at most this many candles, each of the same number of bars


def candle_buckets(n: int, limit: int = MAX_CANDLES) -> tuple[np.ndarray, np.ndarray]:
    """The first and last index of each of report.html's candles over ``n`` traded bars."""
    step = max(1, math.ceil(n / limit))
    starts = np.arange(0, n, step)
    return starts, np.minimum(starts + step, n) - 1


@dataclass(frozen=True)
class ReplayReport:
    """Everything a report folder is made from: the result, the run's settings and provenance."""

    result: ReplayResult
    initial_balance: float
    title: str
    symbol: str = ""  # a basket's first
    stop_loss_pct: float = 0.0  # protective levels drawn on the price (0 = off)
    take_profit_pct: float = 0.0
    provenance: Mapping[str, Any] = field(default_factory=dict)
    breakdown: tuple[str, ...] = ()  # more tables of pnl and trades: "day", "week" (months always)
    # the mixins' indicators drawn in report.html, by symbol
    indicators: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    focus: str = ""  # the symbol --symbol picked (trades.png draws it alone); "" = every symbol

    @classmethod
    def of(cls, checked: CheckedConfig, result: ReplayResult, data: Provenance,
           breakdown: Sequence[str] = (), focus: str = "") -> "ReplayReport":
        """The report of ``result``, a replay of ``checked`` on ``data``; ``breakdown`` asks for
        the tables by day and/or by week beside the one by month; ``focus`` picks one symbol
        (ValueError when the replay has no such symbol)."""
        config = checked.config
        views = symbol_views(result, config.trading.symbol)
        if focus:
            view_of(views, focus)
        overrides = [f"{o.path_text}={json.dumps(o.value)}" for o in checked.overrides]
        # the warm-up each symbol had (a basket's result counts its warm-up in time steps)
        provenance = run_provenance(checked.document, checked.path, overrides, data,
                                    views[0].warmup)
        return cls(result, config.broker.initial_balance,
                   title=f"{config.bot_id} {basket_label(config.trading.symbols)}",
                   symbol=config.trading.symbol,
                   stop_loss_pct=config.risk.stop_loss_pct,
                   take_profit_pct=config.risk.take_profit_pct, provenance=provenance,
                   breakdown=tuple(u for u in UNITS if u in breakdown and u != "month"),
                   indicators={view.symbol: tuple(asdict(pane) for pane in indicator_panes(
                       config, view.bars, view.warmup, candle_buckets(len(view.traded))[1]))
                       for view in views},
                   focus=focus)

    @property
    def is_basket(self) -> bool:
        return self.result.basket is not None

    @cached_property
    def views(self) -> list[SymbolView]:
        """Each symbol's bars and trades (one view without a basket)."""
        return symbol_views(self.result, self.symbol)

    @cached_property
    def drawdown(self) -> np.ndarray:
        """Drawdown in percent at every traded bar, from the initial balance on."""
        return drawdown_series(np.asarray(self.result.equity.values, dtype=np.float64),
                               self.initial_balance)

    @cached_property
    def document(self) -> dict[str, Any]:
        """The content of metrics.json."""
        result = self.result
        kill = result.kill_switch
        steps = np.asarray(result.equity.ts, dtype=np.float64)  # the traded time steps
        closes, first_open = market_line(self.views, steps)
        tables = {f"by_{unit}": by_period(result.trades, steps, result.equity.values,
                                          self.initial_balance, closes, first_open, unit)
                  for unit in (*self.breakdown, "month")}
        per_symbol = {"by_symbol": by_symbol(self.views, steps)} if self.is_basket else {}
        return json_safe({
            "summary": dict(result.metrics),
            **per_symbol,
            "by_exit_reason": by_exit_reason(result.trades),
            **tables,
            "risk": {"entries_refused": dict(sorted(result.refusals.items())),
                     "kill_switch": dict(vars(kill)) if kill else None},
            "provenance": dict(self.provenance),
        })


def basket_label(symbols: Sequence[str], shown: int = 5) -> str:
    """How titles name what a replay trades: ``ETHBTC``, or ``basket of 3: AAA, BBB, CCC`` (the
    first ``shown`` symbols of a longer basket, then how many more)."""
    if len(symbols) == 1:
        return symbols[0]
    names = ", ".join(symbols[:shown]) + (f" and {len(symbols) - shown} more"
                                          if len(symbols) > shown else "")
    return f"basket of {len(symbols)}: {names}"


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities (not JSON) replaced by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

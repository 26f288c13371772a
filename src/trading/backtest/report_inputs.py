"""What a report is made from: one replay's result, the run's settings and its provenance."""
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
from trading.backtest.provenance import DataProvenance, run_provenance
from trading.backtest.replay import ReplayResult
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
    symbol: str = ""
    stop_loss_pct: float = 0.0  # protective levels drawn on the price (0 = off)
    take_profit_pct: float = 0.0
    provenance: Mapping[str, Any] = field(default_factory=dict)
    breakdown: tuple[str, ...] = ()  # more tables of pnl and trades: "day", "week" (months always)
    indicators: tuple[Mapping[str, Any], ...] = ()  # the mixins' indicators, drawn in report.html

    @classmethod
    def of(cls, checked: CheckedConfig, result: ReplayResult, data: DataProvenance,
           breakdown: Sequence[str] = ()) -> "ReplayReport":
        """The report of ``result``, a replay of ``checked`` on ``data``; ``breakdown`` asks for
        the tables by day and/or by week beside the one by month."""
        config = checked.config
        overrides = [f"{o.path_text}={json.dumps(o.value)}" for o in checked.overrides]
        provenance = run_provenance(checked.document, checked.path, overrides, data,
                                    result.warmup_bars)
        return cls(result, config.broker.initial_balance,
                   title=f"{config.bot_id} {config.trading.symbol}", symbol=config.trading.symbol,
                   stop_loss_pct=config.risk.stop_loss_pct,
                   take_profit_pct=config.risk.take_profit_pct, provenance=provenance,
                   breakdown=tuple(u for u in UNITS if u in breakdown and u != "month"),
                   indicators=tuple(asdict(pane) for pane in indicator_panes(
                       config, result.data, result.warmup_bars,
                       candle_buckets(len(result.traded))[1])))

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
        closes, first_open = np.asarray(result.traded.close), float(result.traded.open[0])
        tables = {f"by_{unit}": by_period(result.trades, result.equity.ts, result.equity.values,
                                          self.initial_balance, closes, first_open, unit)
                  for unit in (*self.breakdown, "month")}
        return json_safe({
            "summary": dict(result.metrics),
            "by_exit_reason": by_exit_reason(result.trades),
            **tables,
            "risk": {"entries_refused": dict(sorted(result.refusals.items())),
                     "kill_switch": dict(vars(kill)) if kill else None},
            "provenance": dict(self.provenance),
        })


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities (not JSON) replaced by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

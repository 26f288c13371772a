"""Each symbol of a replay on its own: its bars, the ones it traded on, its trades, its figures.

A one-symbol replay has one view, a basket's one per symbol in the basket's order. The account's
figures are per time step (``result.equity``: one value per traded step, the times any symbol
has a bar); anything that sets a symbol's prices beside the equity looks the price up at those
step times (``market_line``), never by the position of a bar in one symbol's file.

``by_symbol`` is the per-symbol table of metrics.json: for each symbol its closed trades, their
win rate, pnl and fees (quote currency), the best and worst trade %, the exposure (the share of
the account's steps with a position in that symbol, counted as the account's ``exposure_pct``),
its position still open at the end (marked to market) and its own market change (its first
traded bar's open to its last close).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from feeds.csv_bars import BarArrays
from trading.backtest.metrics import exposure_pct
from trading.backtest.replay import ReplayResult
from trading.backtest.trade_stats import win_rate_pct
from trading.core.events import TradeClosed


@dataclass(frozen=True)
class SymbolView:
    """One symbol of a replay: every bar it was given, its warm-up, its trades."""

    symbol: str
    bars: BarArrays  # warm-up included
    warmup: int
    trades: tuple[TradeClosed, ...]  # closed, in the order they closed
    still_open: TradeClosed | None  # held at the end, marked to market

    @property
    def traded(self) -> BarArrays:
        """The bars after the warm-up: the ones the strategy could trade this symbol on."""
        return self.bars.slice(self.warmup, len(self.bars))

    @property
    def trade_rows(self) -> list[TradeClosed]:
        """The closed trades, then the position still open."""
        return list(self.trades) + ([self.still_open] if self.still_open else [])


def symbol_views(result: ReplayResult, symbol: str = "") -> list[SymbolView]:
    """The views of ``result``'s symbols: a basket's in its order, else one named ``symbol``."""
    if result.basket is None:
        return [SymbolView(symbol, result.data, result.warmup_bars, tuple(result.trades),
                           result.open_trade)]
    warmups = result.warmups or {}
    still_open = {t.symbol: t for t in result.open_trades}
    return [SymbolView(s, bars, warmups.get(s, 0), tuple(t for t in result.trades if t.symbol == s),
                       still_open.get(s))
            for s, bars in result.basket.items()]


def view_of(views: Sequence[SymbolView], symbol: str) -> SymbolView:
    """The view of ``symbol``; ValueError naming the symbols there are."""
    for view in views:
        if view.symbol == symbol:
            return view
    names = ", ".join(v.symbol for v in views)
    raise ValueError(f"{symbol} is not one of this replay's symbols ({names})")


def _closes_at(bars: BarArrays, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last close at or before each step time, and whether there was one."""
    at = np.searchsorted(np.asarray(bars.ts), steps, side="right") - 1
    return np.asarray(bars.close)[np.maximum(at, 0)], at >= 0


def market_line(views: Sequence[SymbolView], steps: np.ndarray) -> tuple[np.ndarray, float]:
    """The market's price at each step time and where it started (the first traded open).

    One symbol: its own last close at each step. A basket: equal parts of each symbol, as the
    summary's ``market_change_pct`` holds them: the mean over symbols of the close over that
    symbol's first traded open (1 before its first traded bar), starting from 1.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if len(views) == 1:
        traded = views[0].traded
        closes, _ = _closes_at(traded, steps)
        return closes, float(traded.open[0])
    ratios = np.ones((len(views), len(steps)))
    for row, view in zip(ratios, views):
        traded = view.traded
        first_open = float(traded.open[0]) if len(traded) else 0.0
        if first_open:
            closes, seen = _closes_at(traded, steps)
            row[:] = np.where(seen, closes / first_open, 1.0)
    return ratios.mean(axis=0), 1.0


def by_symbol(views: Sequence[SymbolView], steps: np.ndarray) -> list[dict[str, Any]]:
    """One row per symbol, in the basket's order (the figures are in the module docstring)."""
    steps = np.asarray(steps, dtype=np.float64)
    rows = []
    for view in views:
        pnls = np.array([t.pnl for t in view.trades], dtype=np.float64)
        pcts = [t.pnl_pct for t in view.trades]
        still = view.still_open
        traded = view.traded
        market = (float(traded.close[-1]) / float(traded.open[0]) - 1.0) * 100.0 \
            if len(traded) and float(traded.open[0]) else None
        rows.append({
            "symbol": view.symbol,
            "trades": len(view.trades),
            "win_rate_pct": round(win_rate_pct(pnls), 4),
            "pnl": round(float(pnls.sum()), 8),
            "fees": round(float(sum(t.fees for t in view.trades)), 8),
            "best_trade_pct": round(max(pcts), 4) if pcts else None,
            "worst_trade_pct": round(min(pcts), 4) if pcts else None,
            "exposure_pct": round(exposure_pct(view.trades, steps, [still] if still else []), 4),
            "open_trades": 1 if still else 0,
            "open_pnl": round(still.pnl, 8) if still else 0.0,
            "market_change_pct": round(market, 4) if market is not None else None,
        })
    return rows

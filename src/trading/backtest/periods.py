"""Figures over time: the tables by day, week or month, the best and worst day, the worst
drawdown's start, end and length, and the compound annual growth rate.

Periods are UTC: days from midnight, weeks from Monday, calendar months. A trade belongs to the
period it closed in; a period's ``return_pct`` is its last equity over the previous period's (the
initial balance first), and its ``market_change_pct`` its last close over the previous one's (the
first bar's open first), so the periods compound to the whole replay's figures.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from trading.backtest.trade_stats import win_rate_pct
from trading.core.events import TradeClosed
from trading.core.timeutil import epoch_seconds, iso_z

UNITS = ("day", "week", "month")
DAY = 86400
YEAR_SECONDS = 365 * DAY


def period_keys(ts: np.ndarray, unit: str) -> np.ndarray:
    """The UTC day, week (its Monday) or month each time falls in, as datetime64 values."""
    seconds = np.asarray(ts, dtype=np.float64).astype(np.int64)
    if unit == "month":
        return seconds.astype("datetime64[s]").astype("datetime64[M]")
    days = seconds // DAY
    if unit == "week":
        days = days - (days + 3) % 7  # 1970-01-01 was a Thursday: Mondays are days = 4 (mod 7)
    elif unit != "day":
        raise ValueError(f"a period is one of {', '.join(UNITS)}, not {unit!r}")
    return days.astype("datetime64[D]")


def _bounds(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return starts, np.concatenate((starts[1:], [len(keys)])) - 1


def by_period(trades: Sequence[TradeClosed], ts: np.ndarray, values: np.ndarray,
              initial_balance: float, closes: np.ndarray, first_open: float,
              unit: str = "month") -> list[dict[str, Any]]:
    """One row per period of the replay: ``{unit}`` (its label), trades closed in it, their win
    rate and pnl, the account's change (quote currency) and return, and the market's change.

    ``ts``/``values`` are the equity at each traded bar (a basket's: each traded time step);
    ``closes`` the market's price at those same times (``symbol_views.market_line``) and
    ``first_open`` where it started.
    """
    if len(closes) != len(ts):
        raise ValueError(f"by_period: {len(closes)} market prices for {len(ts)} equity times; "
                         "give the market's price at each equity time")
    if not len(ts):
        return []
    keys = period_keys(ts, unit)
    starts, ends = _bounds(keys)
    exit_keys = period_keys(np.array([epoch_seconds(t.exit_time) for t in trades], dtype=np.float64), unit)
    pnl_all = np.array([t.pnl for t in trades], dtype=np.float64)
    rows = []
    previous_equity, previous_close = float(initial_balance), float(first_open)
    for start, end in zip(starts.tolist(), ends.tolist()):
        key = keys[start]
        pnls = pnl_all[exit_keys == key] if len(pnl_all) else pnl_all
        last, close = float(values[end]), float(closes[end])
        rows.append({unit: str(key), "trades": len(pnls),
                     "win_rate_pct": round(win_rate_pct(pnls), 4),
                     "pnl": round(float(pnls.sum()), 8),
                     "change": round(last - previous_equity, 8),
                     "return_pct": round((last / previous_equity - 1.0) * 100.0, 4)
                     if previous_equity else 0.0,
                     "market_change_pct": round((close / previous_close - 1.0) * 100.0, 4)
                     if previous_close else 0.0})
        previous_equity, previous_close = last, close
    return rows


def best_and_worst_day(ts: np.ndarray, values: np.ndarray, initial_balance: float) -> dict[str, Any]:
    """The UTC days the account gained and lost most (``best_day``, ``best_day_pnl``, ...)."""
    none = {"best_day": None, "best_day_pnl": None, "worst_day": None, "worst_day_pnl": None}
    if not len(ts):
        return none
    keys = period_keys(ts, "day")
    _, ends = _bounds(keys)
    closing = np.asarray(values, dtype=np.float64)[ends]
    changes = np.diff(np.concatenate(([initial_balance], closing)))
    best, worst = int(np.argmax(changes)), int(np.argmin(changes))
    return {"best_day": str(keys[ends[best]]), "best_day_pnl": round(float(changes[best]), 8),
            "worst_day": str(keys[ends[worst]]), "worst_day_pnl": round(float(changes[worst]), 8)}


def drawdown_span(ts: np.ndarray, values: np.ndarray, initial_balance: float) -> dict[str, Any]:
    """The worst drawdown's ``max_drawdown_start`` (the peak: the bar it was last reached, or the
    first bar when the peak is the initial balance), ``_end`` (the trough), ``_hours`` (peak to
    trough) and ``_recovered`` (the first bar back at the peak, None if never); all None without
    a drawdown."""
    keys = ("max_drawdown_start", "max_drawdown_end", "max_drawdown_hours", "max_drawdown_recovered")
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return dict.fromkeys(keys)
    curve = np.concatenate(([initial_balance], values))
    peaks = np.maximum.accumulate(curve)
    falls = (peaks - curve) / np.where(peaks > 0, peaks, 1.0)
    trough = int(np.argmax(falls))
    if falls[trough] <= 0:
        return dict.fromkeys(keys)
    peak = int(np.flatnonzero(curve[:trough + 1] == peaks[trough])[-1])
    back = np.flatnonzero(curve[trough:] >= peaks[trough])
    ts = np.asarray(ts, dtype=np.float64)
    start, end = float(ts[max(peak - 1, 0)]), float(ts[trough - 1])
    return {"max_drawdown_start": iso_z(start), "max_drawdown_end": iso_z(end),
            "max_drawdown_hours": round((end - start) / 3600.0, 4),
            "max_drawdown_recovered": iso_z(float(ts[trough + int(back[0]) - 1])) if len(back) else None}


def cagr_pct(initial_balance: float, final: float, seconds: float) -> float | None:
    """Compound annual growth over ``seconds``, in percent; None when undefined or too large to
    write (a short replay's growth, compounded over a year, can be)."""
    if initial_balance <= 0 or seconds <= 0:
        return None
    if final <= 0:
        return -100.0
    try:
        growth = math.exp(math.log(final / initial_balance) * YEAR_SECONDS / seconds)
    except OverflowError:
        return None
    return (growth - 1.0) * 100.0 if math.isfinite(growth) else None

"""The bars one replay runs on, and how they are cut by time.

A ``Span`` is what ``run_replay`` takes: the bars (a basket's first symbol's), the warm-up and a
basket's bars of every symbol. A basket is always cut at a time, the same for every symbol, never
at a bar index: symbols have gaps of their own, so the n-th bar of one is not the n-th of another.
``cut_before``/``cut_from`` are a sweep's in-sample and out-of-sample parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from feeds.csv_bars import BarArrays


@dataclass(frozen=True)
class Span:
    """The bars of one replay: ``bars`` (a basket's first symbol's), the ``warmup`` bars each
    symbol feeds only to its indicators, and a basket's bars of every symbol."""

    bars: BarArrays
    warmup: int
    basket: Mapping[str, BarArrays] | None = None

    @property
    def steps(self) -> int:
        """How many time steps the replay makes (a basket's: the times any symbol has a bar)."""
        return len(step_times(self.bars, self.basket))


def step_times(bars: BarArrays, basket: Mapping[str, BarArrays] | None = None) -> np.ndarray:
    """The replay's time steps: ``bars``' times, or the union of every basket symbol's."""
    if basket is None:
        return np.asarray(bars.ts, dtype=np.float64)
    return np.unique(np.concatenate([np.asarray(b.ts, dtype=np.float64) for b in basket.values()]))


def bars_before(basket: Mapping[str, BarArrays], when: float) -> dict[str, int]:
    """For each symbol, how many of its bars open before ``when`` (epoch seconds)."""
    return {s: int(np.searchsorted(np.asarray(b.ts), when, side="left")) for s, b in basket.items()}


def cut_before(basket: Mapping[str, BarArrays], when: float, warmup: int) -> Span:
    """Every symbol's bars that open before ``when``."""
    counts = bars_before(basket, when)
    cut = {s: b.slice(0, counts[s]) for s, b in basket.items()}
    return Span(next(iter(cut.values())), warmup, cut)


def cut_from(basket: Mapping[str, BarArrays], when: float, warmup: int) -> Span:
    """Every symbol's bars from ``when`` on, each led by the same number of bars just before it
    to warm up on: ``warmup``, or fewer when a symbol has fewer before ``when``. So each symbol
    trades from its first bar at or after ``when``."""
    counts = bars_before(basket, when)
    lead = min(warmup, *counts.values())
    cut = {s: b.slice(counts[s] - lead, len(b)) for s, b in basket.items()}
    return Span(next(iter(cut.values())), lead, cut)

"""What runs a sweep's points: the same ``run_replay`` a replay uses, on bars each worker holds.

A worker receives the bars once (``init_worker``, or Dask's scatter) and then only small
``PointTask`` values: a validated config document per point. With ``--train-end`` each point is
replayed twice: on the bars before that time (in sample), and on the bars from it on (out of
sample), warmed up on the bars just before it so it trades from its first bar. A basket is split
at that time in every symbol (``trading.backtest.spans``), not at one symbol's bar index.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from feeds.csv_bars import BarArrays
from trading.backtest.replay import ReplayResult, run_replay
from trading.backtest.spans import Span, cut_before, cut_from
from trading.config.loading import build_config
from trading.config.models import BotConfig


@dataclass(frozen=True)
class SweepBars:
    """The bars every point runs on; ``split`` is the index of the first out-of-sample bar (a
    basket's first symbol's). A basket's bars of every symbol are in ``basket`` and split at
    ``split_time`` (--train-end, epoch seconds)."""

    bars: BarArrays
    split: int | None = None
    warmup: int | None = None  # --warmup, else each config's data.lookback_bars
    basket: Mapping[str, BarArrays] | None = None
    split_time: float | None = None

    def warmup_for(self, config: BotConfig) -> int:
        """The warm-up bars of ``config``'s runs: --warmup, else its data.lookback_bars."""
        return config.data.lookback_bars if self.warmup is None else self.warmup

    def in_sample(self, config: BotConfig) -> Span:
        """The bars (all, or those before --train-end) and warm-up of the ranked run."""
        warmup = self.warmup_for(config)
        if self.basket is not None:
            if self.split_time is None:
                return Span(self.bars, warmup, self.basket)
            return cut_before(self.basket, self.split_time, warmup)
        bars = self.bars if self.split is None else self.bars.slice(0, self.split)
        return Span(bars, warmup)

    def out_of_sample(self, config: BotConfig) -> Span | None:
        """From --train-end on, led by the warm-up bars just before it; None without a split."""
        if self.basket is not None:
            if self.split_time is None:
                return None
            return cut_from(self.basket, self.split_time, self.warmup_for(config))
        if self.split is None:
            return None
        warmup = min(self.warmup_for(config), self.split)
        return Span(self.bars.slice(self.split - warmup, len(self.bars)), warmup)


@dataclass(frozen=True)
class PointTask:
    """One point to run: its key and its validated, effective config document."""

    key: str
    document: Mapping[str, Any]
    source: str | None = None
    keep_results: bool = False  # send the whole results back (for the best points' reports)


@dataclass(frozen=True)
class PointOutcome:
    """What a point produced; ``replay_seconds`` is the engine's own time, ``seconds`` the point's."""

    key: str
    metrics: dict[str, Any]
    oos_metrics: dict[str, Any] | None
    replay_seconds: float
    seconds: float
    results: tuple[ReplayResult, ReplayResult | None] | None = None


_bars: SweepBars | None = None


def init_worker(bars: SweepBars | None) -> None:
    """Hold the sweep's bars in this process (a pool worker's initializer); None lets them go."""
    global _bars
    _bars = bars


def run_point(task: PointTask, bars: SweepBars | None = None) -> PointOutcome:
    """Replay one point (in and out of sample); ``bars`` defaults to the ones this worker holds."""
    started = time.perf_counter()
    held = bars if bars is not None else _bars
    if held is None:
        raise RuntimeError("run_point: this worker holds no bars (init_worker was not called)")
    config = build_config(dict(task.document), source=Path(task.source) if task.source else None)
    train = held.in_sample(config)
    inside = run_replay(config, train.bars, train.warmup, basket=train.basket)
    outside = None
    later = held.out_of_sample(config)
    if later is not None:
        outside = run_replay(config, later.bars, later.warmup, basket=later.basket)
    replay_seconds = inside.seconds + (outside.seconds if outside else 0.0)
    return PointOutcome(task.key, inside.metrics, outside.metrics if outside else None,
                        replay_seconds, time.perf_counter() - started,
                        (inside, outside) if task.keep_results else None)

"""A parameter sweep's plan: every point checked before anything runs, and the sweep's identity.

``plan_sweep`` turns a base config (with its ``--set`` overrides), the ``--grid`` axes and the
bars into one validated config per point; a point the validator refuses stops the whole sweep
with the validator's messages. The plan's ``key`` hashes what decides the figures (the effective
config, the grid, the data's content, the period, the warm-up, ``--train-end``), so re-running the
same command finds the same folder and resumes it. A basket's sweep splits at ``--train-end`` in
every symbol.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from trading.backtest.bars import ReplayData
from trading.backtest.provenance import BasketProvenance
from trading.backtest.spans import bars_before
from trading.backtest.grid import GridAxis, GridPoint, grid_points, parse_grid
from trading.backtest.sweep_worker import PointTask, SweepBars
from trading.config.loading import CheckedConfig, check_document
from trading.config.secrets import scrub_config
from trading.core.errors import ConfigError, DataError
from trading.core.timeutil import epoch_seconds, iso_z, utcnow
from trading.core.version import version

SWEEP_ROOT = Path("sweeps")
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid and the config it runs."""

    point: GridPoint
    checked: CheckedConfig

    @property
    def key(self) -> str:
        return self.point.key


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep runs, checked."""

    base: CheckedConfig
    axes: tuple[GridAxis, ...]
    points: tuple[SweepPoint, ...]
    data: ReplayData
    bars: SweepBars
    train_end: datetime | None

    @property
    def key(self) -> str:
        """What decides the figures, hashed: equal keys mean the same experiment. Names and
        places are left out (the config file's path, the data file's path, which keys came from
        --set): the same config and the same bytes of data resume the same sweep."""
        definition = self.definition()
        for name in ("created", "version", "config_file", "overrides"):
            definition.pop(name)
        definition["data"].pop("path")
        text = json.dumps(definition, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def definition(self) -> dict[str, Any]:
        """sweep.json: the experiment, written when a sweep folder is created (the config with its
        secrets scrubbed: the key does not change with a password or a webhook URL)."""
        provenance = self.data.provenance.as_dict()
        if isinstance(self.data.provenance, BasketProvenance):  # every file, and where it is
            files = provenance["symbols"]
            kept = ("sha256", "bars", "first", "last")
            data = {**provenance, "symbols": {s: {k: f[k] for k in kept} for s, f in files.items()},
                    "path": {s: f["path"] for s, f in files.items()}}
        else:
            data = {k: provenance[k] for k in ("sha256", "bars", "interval", "first", "last", "start",
                                               "end")} | {"path": provenance["path"]}
        return {
            "created": iso_z(utcnow().replace(microsecond=0)),
            "version": version(),
            "config_file": str(self.base.path) if self.base.path else None,
            "overrides": [o.text for o in self.base.overrides],
            "grid": [{"name": a.name, "path": list(a.path), "values": list(a.values)} for a in self.axes],
            "points": len(self.points),
            "data": data,
            "warmup": self.bars.warmup,
            "train_end": iso_z(self.train_end) if self.train_end else None,
            "split_bar": self._split_bars(),
            "config": scrub_config(self.base.document),
        }

    def _split_bars(self) -> int | dict[str, int] | None:
        """The first out-of-sample bar's index: a basket's in each symbol."""
        if self.bars.basket is None or self.bars.split_time is None:
            return self.bars.split
        return bars_before(self.bars.basket, self.bars.split_time)

    def tasks(self, skip: set[str] | frozenset[str] = frozenset(), keep_results: bool = False) -> list[PointTask]:
        """What the runners run: one task per point not in ``skip``."""
        source = str(self.base.path) if self.base.path else None
        return [PointTask(p.key, p.checked.document, source, keep_results)
                for p in self.points if p.key not in skip]

    @cached_property
    def _by_key(self) -> dict[str, SweepPoint]:
        return {p.key: p for p in self.points}

    def point(self, key: str) -> SweepPoint:
        """The point with this key."""
        return self._by_key[key]


def _split(data: ReplayData, train_end: datetime | None, base: CheckedConfig,
           warmup: int | None) -> int | None:
    """The index of the first bar from --train-end on (a basket's first symbol's), checked in
    every symbol: each needs more bars than the warm-up before it and one from it on."""
    if train_end is None:
        return None
    when = epoch_seconds(train_end)
    needed = base.config.data.lookback_bars if warmup is None else warmup
    if data.basket is None:
        files = [("the data", data.bars, data.provenance)]
    else:
        assert isinstance(data.provenance, BasketProvenance)
        files = [(symbol, data.basket[symbol], p) for symbol, p in data.provenance.files.items()]
    for name, bars, provenance in files:
        ts = np.asarray(bars.ts)
        split = int(np.searchsorted(ts, when, side="left"))
        where = f"{name} ({provenance.first} .. {provenance.last})"
        if split >= len(ts):
            raise DataError(f"--train-end {iso_z(train_end)} is after the last bar of {where}: "
                            f"nothing is left out of sample")
        if split <= needed:
            raise DataError(f"--train-end {iso_z(train_end)} leaves {split} bar(s) of {where} "
                            f"before it, not more than the {needed} warm-up bars: move it later "
                            f"or warm up on fewer bars (--warmup N)")
    return int(np.searchsorted(np.asarray(data.bars.ts), when, side="left"))


def plan_sweep(base: CheckedConfig, grid: list[str], data: ReplayData, warmup: int | None = None,
               train_end: datetime | None = None) -> SweepPlan:
    """Check the grid and every point; raises ConfigError (every problem) or DataError."""
    axes = parse_grid(grid, base.document)
    points, problems = [], []
    for point in grid_points(axes):
        try:
            checked = check_document(base.document, base.path, base.overrides + point.overrides,
                                     source=str(base.path) if base.path else None)
        except ConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]
            continue
        points.append(SweepPoint(point, checked))
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        raise ConfigError(f"{len(problems)} problem(s) in the grid's points; nothing was run", shown)
    split = _split(data, train_end, base, warmup)
    bars = SweepBars(data.bars, split, warmup, data.basket,
                     epoch_seconds(train_end) if train_end is not None else None)
    return SweepPlan(base, tuple(axes), tuple(points), data, bars, train_end)

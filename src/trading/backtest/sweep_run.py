"""Running a planned sweep in its folder: resume, results.csv, ranking and the best points' reports.

The folder holds ``sweep.json`` (the experiment: config, grid, data, period; written once),
``results.csv`` and ``best/<rank>-<point>/`` report folders (with ``--train-end``: an
``in-sample/`` and an ``out-of-sample/`` report each). A folder whose sweep.json describes another
experiment is refused rather than mixed.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from trading.backtest.executors import PointRunner
from trading.backtest.outdirs import OutputExists
from trading.backtest.provenance import run_data
from trading.backtest.report import write_json, write_report
from trading.backtest.report_inputs import ReplayReport
from trading.backtest.results import SweepResults, rank_rows
from trading.backtest.sweep import SweepPlan
from trading.backtest.sweep_worker import PointOutcome

DEFINITION = "sweep.json"
BEST = "best"


@dataclass(frozen=True)
class SweepState:
    """Where a sweep stands: every point's row so far (by key) and the points still to run."""

    done: dict[str, dict[str, Any]]
    todo: list[str]


class SweepRun:
    """One sweep folder: open (or resume) it, run what is left, rank, keep the best reports."""

    def __init__(self, plan: SweepPlan, folder: Path) -> None:
        self.plan = plan
        self.folder = folder
        self.results = SweepResults(folder, [a.name for a in plan.axes], plan.train_end is not None)

    def open(self) -> SweepState:
        """Create the folder, or check it holds this very sweep; return what is done and left."""
        definition = self.folder / DEFINITION
        key = self.plan.key
        if definition.exists():
            theirs = json.loads(definition.read_text(encoding="utf-8")).get("key")
            if theirs != key:
                raise OutputExists(f"{self.folder} holds another sweep (key {theirs}, this one is "
                                   f"{key}: its config, grid, data or period differ); choose another "
                                   f"--out, or leave --out off for this sweep's own folder")
        elif self.results.path.exists() or (self.folder / "metrics.json").exists():
            raise OutputExists(f"{self.folder} already holds a report; choose another --out")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json(definition, {"key": key, **self.plan.definition()})
        try:
            done = self.results.load()
        except ValueError as exc:
            raise OutputExists(str(exc)) from None
        keys = [p.key for p in self.plan.points]
        return SweepState({k: done[k] for k in keys if k in done}, [k for k in keys if k not in done])

    def run(self, runner: PointRunner, state: SweepState,
            on_point: Callable[[PointOutcome], None] | None = None) -> dict[str, dict[str, Any]]:
        """Run every point left; each finished point is in results.csv at once."""
        rows = dict(state.done)
        for outcome in runner.run(self.plan.tasks(skip=set(state.done))):
            row = self.results.row(outcome, self.plan.point(outcome.key).point.params)
            self.results.append(row)
            rows[outcome.key] = row
            if on_point:
                on_point(outcome)
        return rows

    def finish(self, rows: dict[str, dict[str, Any]], rank: str, runner: PointRunner,
               keep: int, min_trades: int = 0) -> list[dict[str, Any]]:
        """Rank every point with at least ``min_trades`` trades (the others follow, unranked),
        rewrite results.csv in that order, write the ``keep`` best ranked points' reports."""
        ranked = rank_rows(rows.values(), rank, min_trades)
        self.results.write(ranked)
        best_dir = self.folder / BEST
        if best_dir.exists():
            shutil.rmtree(best_dir)  # the best points of this ranking replace the last ranking's
        best = [row for row in ranked if row["rank"] is not None][:keep]
        tasks = self.plan.tasks(skip={p.key for p in self.plan.points} - {r["point"] for r in best},
                                keep_results=True)
        for outcome in runner.run(tasks):
            rank = next(r["rank"] for r in best if r["point"] == outcome.key)
            self._write_best(best_dir / f"{rank:02d}-{outcome.key}", outcome)
        return ranked

    def _write_best(self, folder: Path, outcome: PointOutcome) -> None:
        assert outcome.results is not None
        checked = self.plan.point(outcome.key).checked
        inside, outside = outcome.results
        provenance = self.plan.data.provenance
        runs = [("in-sample" if outside else "", inside), ("out-of-sample", outside)]
        for name, result in runs:
            if result is None:
                continue
            report = ReplayReport.of(checked, result, run_data(provenance, result.data, result.basket))
            write_report(folder / name if name else folder, report)

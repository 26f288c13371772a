"""The report's pictures drawn by a helper process, so matplotlib costs the replay no wall time.

Importing matplotlib and drawing two charts take about half a second, which is a fifth of a
200,000-bar replay. ``ChartWorker.start()`` forks a process that imports matplotlib while the
replay runs on the other core; ``draw(out, report)`` hands it a finished report and returns at
once; ``finish()`` waits for every picture. Where no process can be forked (or the helper died),
the pictures are drawn here instead, the same files either way.
"""
from __future__ import annotations

import logging
import multiprocessing
import pickle
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from trading.backtest.report_inputs import ReplayReport

log = logging.getLogger(__name__)

EQUITY_PNG, TRADES_PNG = "equity.png", "trades.png"


def draw_pictures(out: Path, report: ReplayReport) -> None:
    """Draw ``equity.png`` and ``trades.png`` of ``report`` into ``out``."""
    from trading.backtest import charts  # noqa: PLC0415 (matplotlib only when drawing)

    charts.draw_equity(out / EQUITY_PNG, report)
    charts.draw_trades(out / TRADES_PNG, report)


def _serve(conn: Connection) -> None:
    from trading.backtest import charts  # noqa: F401,PLC0415 (the slow import, done early)

    while True:
        job = conn.recv()
        if job is None:
            return
        out, report = job
        try:
            draw_pictures(out, report)
            conn.send(None)
        except Exception as exc:  # reported to the parent, which says so to the user
            conn.send(f"drawing the pictures in {out} failed: {type(exc).__name__}: {exc}")


class ChartWorker:
    """A helper process that draws reports' pictures (see the module docstring)."""

    def __init__(self, conn: Connection | None, process: Any) -> None:
        self._conn = conn
        self._process = process
        self._waiting = 0

    @classmethod
    def start(cls) -> "ChartWorker":
        """Fork the helper now (it imports matplotlib meanwhile); in-process where forking fails."""
        try:
            context = multiprocessing.get_context("fork")
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child,), daemon=True,
                                      name="report pictures")
            process.start()
            child.close()
        except (ValueError, OSError) as exc:  # no fork on this platform, or no resources
            log.debug("pictures drawn in this process: %s", exc)
            return cls(None, None)
        return cls(parent, process)

    def draw(self, out: Path, report: ReplayReport) -> None:
        """Have the pictures of ``report`` drawn into ``out`` (returns before they are)."""
        if self._conn is not None:
            try:
                self._conn.send((out, report))
                self._waiting += 1
                return
            except (OSError, ValueError, TypeError, AttributeError,
                    pickle.PicklingError) as exc:  # the helper is gone, or the report won't pickle
                log.debug("the picture helper cannot take the job (%s): drawing here", exc)
                self._stop()
        draw_pictures(out, report)

    def finish(self) -> None:
        """Wait until every picture is drawn; raises OSError naming the first failure."""
        failures: list[str] = []
        while self._waiting and self._conn is not None:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError):
                failures.append("the process drawing the pictures ended unexpectedly")
                break
            self._waiting -= 1
            if answer:
                failures.append(answer)
        self._stop()
        if failures:
            raise OSError(failures[0])

    def close(self) -> None:
        """End the helper (what it still draws is abandoned); safe to call twice."""
        self._stop()

    def _stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except (OSError, ValueError):
                pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
            self._process = None

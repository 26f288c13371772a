"""Progress on stderr: a bar redrawn in place when stderr is a terminal, nothing otherwise."""
from __future__ import annotations

import sys
import time

LINE_SECONDS = 30.0  # without a terminal: a line per tenth of the points, or this often


class ProgressBar:
    """``replay  42% [#####.....] 420,000/1,000,000 bars`` redrawn in place on stderr."""

    def __init__(self, total: int, label: str = "replay", unit: str = "bars") -> None:
        self.total = max(1, total)
        self.label = label
        self.unit = unit

    def __call__(self, seen: int) -> None:
        frac = min(1.0, seen / self.total)
        filled = int(frac * 30)
        sys.stderr.write(f"\r{self.label} {int(frac * 100):3d}% [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{seen:,}/{self.total:,} {self.unit}")
        sys.stderr.flush()

    def finish(self) -> None:
        self(self.total)
        sys.stderr.write("\n")


class SweepProgress:
    """Points done, rate and time left: a rich bar on a terminal, else a line every ~10%."""

    def __init__(self, total: int, done: int = 0, live: bool | None = None) -> None:
        self.total, self.done, self._started_with = total, done, done
        self._started = time.monotonic()
        self._step = max(1, -(-total // 10))  # a line per tenth of the points
        self._next_line = done + self._step
        self._last_line = self._started
        self._bar = None
        if live if live is not None else sys.stderr.isatty():
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,  # noqa: PLC0415
                                       TimeRemainingColumn)

            self._bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("points {task.fields[rate]}"), TimeRemainingColumn(),
                                 transient=False, redirect_stdout=False)
            self._task = self._bar.add_task("sweep", total=total, completed=done, rate="")
            self._bar.start()

    def rate(self) -> float:
        """Points per second since this run started (resumed points do not count)."""
        elapsed = time.monotonic() - self._started
        return (self.done - self._started_with) / elapsed if elapsed > 0 else 0.0

    def advance(self, points: int = 1) -> None:
        self.done += points
        rate = self.rate()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{rate:.2f}/s")
        elif (self.done >= self._next_line or self.done == self.total
              or time.monotonic() - self._last_line >= LINE_SECONDS):
            self._next_line = self.done + self._step
            self._last_line = time.monotonic()
            left = (self.total - self.done) / rate if rate else 0.0
            sys.stderr.write(f"sweep: {self.done}/{self.total} points, {rate:.2f} points/s, "
                             f"~{left:.0f} s left\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

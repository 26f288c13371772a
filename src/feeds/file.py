"""The ``file`` data source: a CSV of bars replayed as if it were live.

History first (the warm-up the strategy must not trade on), then the remaining bars as live bars
at ``speed`` bars per second. Through ``LiveFeed`` it presents exactly the bars ``ArrayFeed``
presents for the same file (same values, same warm-up flags), which the replay/live parity of
the bot rests on.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np

from feeds.csv_bars import BarArrays, load_bars
from feeds.live import DELAYED, LIVE, BarSink, SinkClosed
from feeds.resample import resample_bars
from trading.core.timeutil import iso_z

log = logging.getLogger(__name__)


class FileBarSource:
    """Replays a CSV of bars: ``lookback_bars`` of history, then live bars at ``speed`` bars/s.

    The file is read, checked and resampled to the config's interval here, at construction, so a
    bad file is a ``DataError`` for the user before anything starts. After ``resume_after(ts)``
    (a restart), every bar up to that time was already traded and is history too, when that is
    more than ``lookback_bars``. ``speed`` 0 delivers as fast as the feed takes them. Its live
    bars are a replay, and the bot's status says so (``live_state_name``).
    """

    live_state_name = "REPLAY"

    def __init__(self, path: str | Path, interval_seconds: float, lookback_bars: int,
                 speed: float = 0.0, resume_after_ts: float | None = None) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 bars per second, got {speed!r}")
        self.path = Path(path)
        self.interval_seconds = float(interval_seconds)
        # finer bars are combined into the config's interval, exactly as replay does
        self.bars: BarArrays = resample_bars(load_bars(self.path), self.interval_seconds,
                                             source=str(self.path))
        self.speed = float(speed)
        self.lookback_bars = max(0, int(lookback_bars))
        self.resume_after(resume_after_ts)

    def resume_after(self, ts: float | None) -> None:
        """Continue after the bar at ``ts``, the last one a previous run traded (None: a first run)."""
        history = self.lookback_bars
        if ts is not None:
            traded = int(np.searchsorted(self.bars.ts, ts, side="right"))
            history = max(history, traded)
        self.history_bars = min(history, len(self.bars))

    def describe(self) -> str:
        bars = self.bars
        return (f"file {self.path} ({len(bars)} bars {iso_z(bars.ts[0])} to "
                f"{iso_z(bars.ts[-1])}; {self.history_bars} history, "
                f"{'as fast as possible' if not self.speed else f'{self.speed:g} bars/s'})")

    async def run(self, sink: BarSink) -> None:
        """Deliver the history, then the live bars, then end the feed."""
        try:
            await self._deliver(sink)
        except SinkClosed:
            log.debug("%s: the feed stopped before the end of the file", self.path)

    async def _deliver(self, sink: BarSink) -> None:
        bars, history = self.bars, self.history_bars
        await sink.put_status(DELAYED)
        for i in range(history):
            await sink.put_bar(bars.bar(i), history=True, last_history=i == history - 1)
        await sink.put_status(LIVE)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for k, i in enumerate(range(history, len(bars))):
            if self.speed:
                # a fixed schedule from the first live bar: sleep overshoot does not accumulate
                delay = start + k / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await sink.put_bar(bars.bar(i))
        await sink.end()

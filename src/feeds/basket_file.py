"""The ``file`` data source for a basket: one CSV per symbol, replayed as one live market.

Each symbol's file is read and resampled as ``FileBarSource`` does, and has its own history
(``lookback_bars``, or after a restart every bar up to the last traded step). Every bar goes out
in time order across the basket, each time followed by ``step_done`` (``in_time_order``: the
clock need not gather history first); the live steps at ``speed`` steps per second (0: as fast
as the feed takes them). Through ``BasketClock`` the strategy so sees the same steps a replay of
the same files has, warm-up included.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
from pathlib import Path
from typing import Sequence

from feeds.file import FileBarSource
from feeds.live import DELAYED, LIVE, BarSink, SinkClosed
from trading.core.timeutil import iso_z

log = logging.getLogger(__name__)


class BasketFileSource:
    """Replays one CSV per symbol (``files``: (symbol, path) in the basket's order)."""

    live_state_name = "REPLAY"
    in_time_order = True  # history and live bars come in one time order, steps marked done

    def __init__(self, files: Sequence[tuple[str, str | Path]], interval_seconds: float,
                 lookback_bars: int, speed: float = 0.0,
                 resume_after_ts: float | None = None) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 steps per second, got {speed!r}")
        self.symbols = tuple(symbol for symbol, _ in files)
        self.sources = [FileBarSource(path, interval_seconds, lookback_bars)
                        for _, path in files]
        self.speed = float(speed)
        self.resume_after(resume_after_ts)

    def resume_after(self, ts: float | None) -> None:
        """Continue after the step at ``ts``, the last one a previous run traded."""
        for source in self.sources:
            source.resume_after(ts)

    def describe(self) -> str:
        first = min(float(s.bars.ts[0]) for s in self.sources)
        last = max(float(s.bars.ts[-1]) for s in self.sources)
        bars = sum(len(s.bars) for s in self.sources)
        pace = "as fast as possible" if not self.speed else f"{self.speed:g} steps/s"
        return (f"files of {len(self.sources)} symbols ({', '.join(self.symbols)}; {bars} bars "
                f"{iso_z(first)} to {iso_z(last)}; {pace})")

    async def run(self, sink: BarSink) -> None:
        """Deliver each symbol's history, then the live steps, then end the feed."""
        try:
            await self._deliver(sink)
        except SinkClosed:
            log.debug("basket files: the feed stopped before the end of the files")

    async def _deliver(self, sink: BarSink) -> None:
        await sink.put_status(DELAYED)
        loop = asyncio.get_running_loop()
        start: float | None = None  # the first live step's time on the loop's clock
        step_ts, live_steps = None, 0
        for ts, index, i in self._all_bars():
            source = self.sources[index]
            history = i < source.history_bars
            if ts != step_ts:
                if step_ts is not None:
                    await sink.step_done(step_ts)
                step_ts = ts
                if not history and start is None:
                    await sink.put_status(LIVE)
                    start = loop.time()
                if start is not None:
                    if self.speed:  # a fixed schedule: sleep overshoot does not accumulate
                        delay = start + live_steps / self.speed - loop.time()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    live_steps += 1
            await sink.put_bar(source.bars.bar(i), history=history,
                               last_history=i == source.history_bars - 1, symbol=index)
        if step_ts is not None:
            await sink.step_done(step_ts)
        if start is None:
            await sink.put_status(LIVE)
        await sink.end()

    def _all_bars(self):
        """(time, symbol index, bar index) of every bar, in time then basket order."""
        def one(index: int, source: FileBarSource):
            for i, ts in enumerate(source.bars.ts):
                yield float(ts), index, i
        return heapq.merge(*(one(index, s) for index, s in enumerate(self.sources)))

"""Where a sweep's points run: this process, worker processes on this machine, or a Dask cluster.

Every runner gives each worker the bars once and then streams ``PointTask`` values to it; results
come back as they finish. The runners are interchangeable: the points, the code path and so the
figures are the same on all three.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Iterable, Iterator, Protocol

from trading.backtest.sweep_worker import PointOutcome, PointTask, SweepBars, init_worker, run_point
from trading.core.errors import TradingBotError

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0  # seconds to reach a cluster's scheduler


class ClusterError(TradingBotError):
    """The Dask cluster cannot be reached or has no workers."""


class PointRunner(Protocol):
    """Runs points and yields their outcomes in the order they finish."""

    workers: int
    where: str

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]: ...

    def close(self, cancel: bool = False) -> None: ...


class InProcessRunner:
    """One worker: this process (no start-up, no copying)."""

    workers = 1
    where = "this process"

    def __init__(self, bars: SweepBars) -> None:
        init_worker(bars)

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        for task in tasks:
            yield run_point(task)

    def close(self, cancel: bool = False) -> None:
        init_worker(None)


def _init_pool_worker(bars: SweepBars) -> None:
    # Ctrl+C reaches the whole process group: the parent stops the sweep; its workers finish the
    # point in hand quietly instead of each printing a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init_worker(bars)


class ProcessPoolRunner:
    """``workers`` processes on this machine; each is handed the bars once, when it starts."""

    def __init__(self, bars: SweepBars, workers: int) -> None:
        self.workers = workers
        self.where = f"{workers} worker processes"
        # fork where it is safe (Linux: the pool forks every worker before it starts its own
        # thread, and the sweep starts no thread before it): workers start in milliseconds with
        # the bars and the imported code already in memory. Elsewhere workers are spawned and
        # the bars are sent to each once.
        method = "fork" if sys.platform == "linux" else "spawn"
        self._pool = ProcessPoolExecutor(max_workers=workers,
                                         mp_context=multiprocessing.get_context(method),
                                         initializer=_init_pool_worker, initargs=(bars,))
        self._pool.submit(int).result()  # start the workers now, before any progress thread

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        pending: set[Future] = set()
        queue = iter(tasks)
        in_flight = 2 * self.workers  # enough to keep every worker busy, few to cancel on Ctrl+C
        while True:
            for task in queue:
                pending.add(self._pool.submit(run_point, task))
                if len(pending) >= in_flight:
                    break
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskRunner:
    """The workers of a running Dask distributed cluster; the bars are scattered to each once."""

    def __init__(self, bars: SweepBars, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        try:
            from distributed import Client  # noqa: PLC0415 (only a cluster sweep pays its import)
        except ImportError:
            raise ClusterError("--cluster needs Dask distributed: pip install 'dask[distributed]'") from None
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc}); start one "
                               f"with 'dask scheduler' and workers with 'dask worker {address}'") from None
        workers = self._client.scheduler_info().get("workers", {})
        if not workers:
            self._client.close()
            raise ClusterError(f"the Dask scheduler at {address} has no workers; start some with "
                               f"'dask worker {address}'")
        self.workers = sum(w.get("nthreads", 1) for w in workers.values())
        self.where = f"the Dask cluster at {address} ({len(workers)} workers, {self.workers} threads)"
        self._bars = self._client.scatter(bars, broadcast=True, hash=False)
        self._futures: list = []

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        from distributed import as_completed  # noqa: PLC0415

        self._futures = [self._client.submit(run_point, task, self._bars, pure=False)
                         for task in tasks]
        for future in as_completed(self._futures, loop=self._client.loop):
            yield future.result()
        self._futures = []

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self._client.cancel(self._futures)
        self._client.close()


def make_runner(bars: SweepBars, workers: int, cluster: str | None = None,
                timeout: float = CONNECT_TIMEOUT) -> PointRunner:
    """A Dask runner for ``cluster``, else ``workers`` local processes (1: this process)."""
    if cluster:
        return DaskRunner(bars, cluster, timeout)
    if workers <= 1:
        return InProcessRunner(bars)
    return ProcessPoolRunner(bars, workers)

"""IOThread: one event loop in one daemon thread; results come back, failures are logged, stop is bounded."""
from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

import pytest

from trading.runtime.io_thread import IOThread


@pytest.fixture
def io():
    with IOThread(name="test-io") as thread:
        yield thread


def test_submit_returns_the_coroutines_result_from_the_io_thread(io):
    async def where() -> tuple[str, bool]:
        await asyncio.sleep(0.001)
        return threading.current_thread().name, threading.current_thread().daemon

    assert io.submit(where()).result(timeout=5) == ("test-io", True)


def test_all_work_runs_on_one_loop(io):
    async def loop_id() -> int:
        return id(asyncio.get_running_loop())

    ids = {io.submit(loop_id()).result(timeout=5) for _ in range(5)}
    assert ids == {id(io.loop)}


def test_a_failing_task_is_logged_and_its_error_reaches_the_caller(io, caplog):
    async def broken() -> None:
        raise ValueError("exchange said no")

    with caplog.at_level(logging.ERROR, logger="trading.runtime.io_thread"):
        future = io.submit(broken(), name="fetch-orders")
        with pytest.raises(ValueError, match="exchange said no"):
            future.result(timeout=5)
        io.submit(asyncio.sleep(0)).result(timeout=5)  # the done callback has run by now
    assert any("fetch-orders failed" in r.getMessage() and "exchange said no" in r.getMessage()
               for r in caplog.records)


def test_an_unretrieved_error_of_an_inner_task_is_logged(io, caplog):
    async def spawn() -> None:
        async def inner() -> None:
            raise RuntimeError("lost in a background task")
        task = asyncio.get_running_loop().create_task(inner())
        await asyncio.sleep(0.01)
        del task  # nobody awaits it: asyncio reports it when the task is collected

    with caplog.at_level(logging.ERROR, logger="trading.runtime.io_thread"):
        io.submit(spawn()).result(timeout=5)
        gc.collect()
        io.submit(asyncio.sleep(0.01)).result(timeout=5)
    assert any("lost in a background task" in str(r.exc_info[1]) for r in caplog.records
               if r.exc_info)


def test_call_later_runs_the_call_on_the_io_thread_after_the_delay(io):
    ran = threading.Event()
    where: list[str] = []
    started = time.monotonic()
    io.call_later(0.05, lambda: (where.append(threading.current_thread().name), ran.set()))
    assert ran.wait(timeout=5)
    assert where == ["test-io"] and time.monotonic() - started >= 0.04


def test_a_cancelled_call_later_never_runs(io):
    ran = threading.Event()
    io.call_later(0.2, ran.set).cancel()
    assert not ran.wait(timeout=0.4)


def test_every_calls_repeatedly_survives_a_failing_call_and_stops_on_cancel(io, caplog):
    calls: list[int] = []
    done = threading.Event()

    def beat() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise OSError("heartbeat endpoint down")
        if len(calls) >= 4:
            done.set()

    with caplog.at_level(logging.ERROR, logger="trading.runtime.io_thread"):
        heartbeat = io.every(0.01, beat, name="heartbeat")
        assert done.wait(timeout=5)
        heartbeat.cancel()
    assert len(calls) >= 4
    assert any("heartbeat failed" in r.getMessage() for r in caplog.records)


def test_a_blocking_periodic_call_runs_off_the_loop_which_keeps_serving(io):
    """While a periodic blocking call (a WAL fold, a lease renewal) is stuck inside the disk,
    a coroutine on the loop (a kline, an order) still runs to the end."""
    inside, release = threading.Event(), threading.Event()
    where: list[str] = []

    def fold() -> None:
        where.append(threading.current_thread().name)
        inside.set()
        release.wait(10)  # the disk takes its time

    folding = io.every(0.01, fold, name="wal flush", blocking=True)
    try:
        assert inside.wait(timeout=5)

        async def on_the_loop() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert io.submit(on_the_loop()).result(timeout=5) == "test-io"  # answered mid-fold
        assert not release.is_set()
    finally:
        release.set()
        folding.cancel()
    assert where[0] == "test-io-worker"


def test_blocking_periodic_calls_share_one_worker_and_never_overlap(io):
    running, overlaps, calls = [0], [], {"lease": 0, "wal": 0}
    lock = threading.Lock()
    enough = threading.Event()

    def job(name: str):
        def call() -> None:
            with lock:
                running[0] += 1
                overlaps.append(running[0])
                calls[name] += 1
            time.sleep(0.002)  # holds the worker while the other one's tick is due
            with lock:
                running[0] -= 1
                if min(calls.values()) >= 5:
                    enough.set()
        return call

    lease = io.every(0.001, job("lease"), blocking=True)
    wal = io.every(0.001, job("wal"), blocking=True)
    try:
        assert enough.wait(timeout=5)
    finally:
        lease.cancel()
        wal.cancel()
    assert max(overlaps) == 1


def test_a_failing_blocking_call_is_logged_and_the_next_one_still_runs(io, caplog):
    calls: list[int] = []
    done = threading.Event()

    def renew() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError("database is locked")
        done.set()

    with caplog.at_level(logging.ERROR, logger="trading.runtime.io_thread"):
        lease = io.every(0.01, renew, name="lease", blocking=True)
        assert done.wait(timeout=5)
        lease.cancel()
    assert any("lease failed" in r.getMessage() for r in caplog.records)


def test_every_refuses_a_coroutine_function_as_blocking(io):
    async def beat() -> None:
        pass

    with pytest.raises(TypeError, match="plain function"):
        io.every(1.0, beat, blocking=True)


def test_stop_waits_for_the_blocking_call_in_hand_before_returning():
    """What the caller closes after ``stop()`` (the database) is no longer in use by a fold."""
    io = IOThread(name="folding-io")
    io.start()
    inside, finished = threading.Event(), threading.Event()

    def fold() -> None:
        inside.set()
        time.sleep(0.2)
        finished.set()

    io.every(0.01, fold, blocking=True)
    assert inside.wait(timeout=5)
    assert io.stop(timeout=5.0) is True
    assert finished.is_set()


def test_stop_is_bounded_when_a_blocking_call_never_returns(caplog):
    io = IOThread(name="stuck-io")
    io.start()
    inside, release = threading.Event(), threading.Event()

    def stuck() -> None:
        inside.set()
        release.wait(10)

    io.every(0.01, stuck, blocking=True)
    assert inside.wait(timeout=5)
    try:
        with caplog.at_level(logging.WARNING, logger="trading.runtime.io_thread"):
            assert io.stop(timeout=0.3) is False  # the loop stopped; its worker is stuck
        assert any("still in a blocking call" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
    assert io.stop(timeout=5.0) is True


def test_stop_cancels_a_never_ending_task_and_joins(io):
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            cancelled.set()

    future = io.submit(forever())
    assert io.stop(timeout=5.0) is True
    assert cancelled.is_set() and future.cancelled()
    assert not io.running


def test_stop_is_bounded_even_when_a_task_ignores_cancellation(caplog):
    io = IOThread(name="stubborn-io")
    io.start()
    started = threading.Event()

    async def stubborn() -> None:
        started.set()
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass  # refuses to stop

    io.submit(stubborn(), name="stubborn")
    assert started.wait(timeout=5)
    with caplog.at_level(logging.WARNING, logger="trading.runtime.io_thread"):
        io.stop(timeout=0.5)  # bounded: it returns, whether or not the thread has ended yet
    assert any("closed anyway: stubborn" in r.getMessage() for r in caplog.records)
    assert io.stop(timeout=5.0) is True  # and the loop was closed regardless of the task


def test_stop_returns_false_in_time_when_the_loop_itself_is_blocked(caplog):
    io = IOThread(name="blocked-io")
    io.start()
    release = threading.Event()

    async def blocks_the_loop() -> None:
        release.wait(10)  # a blocking call inside a coroutine: nothing can interrupt it

    io.submit(blocks_the_loop())
    try:
        with caplog.at_level(logging.WARNING, logger="trading.runtime.io_thread"):
            assert io.stop(timeout=0.3) is False
        assert any("did not end" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
    assert io.stop(timeout=5.0) is True  # once unblocked, it finishes its shut-down


def test_submit_after_stop_is_refused_clearly():
    with IOThread() as io:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        io.submit(asyncio.sleep(0))

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

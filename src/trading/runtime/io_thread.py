"""The bot's one I/O thread: a single asyncio event loop in a background daemon thread.

Every network client (exchange REST/WebSocket, IB gateway, Telegram, ...) runs on this loop, so
Backtrader's main thread never waits on the network: the two sides meet only at thread-safe
queues. Work is handed in with ``submit`` (a coroutine), ``call_later`` or ``every``; a task
that fails is logged here, so no exception is lost even when nobody reads its future.

The loop must never block: a socket waits behind anything that does. Periodic blocking work (a
database write, a file) is scheduled with ``every(..., blocking=True)``: the loop keeps the
schedule, and the call runs in the thread's one worker thread, one call at a time.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import queue
import threading
import time
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BlockingWorker(concurrent.futures.Executor):
    """One daemon thread that runs blocking calls one after another, for an event loop to await
    (``loop.run_in_executor(worker, fn)``).

    One thread, so the calls never overlap (two database housekeeping jobs never race each
    other); a daemon, so a call stuck in a dead disk cannot keep the process alive.
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[concurrent.futures.Future, Callable[..., Any],
                                             tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._shut = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future[T]:
        """Queue ``fn(*args)`` (no keyword arguments); its future holds the result or error."""
        if kwargs:
            raise TypeError("BlockingWorker.submit takes no keyword arguments")
        if self._shut:
            raise RuntimeError(f"worker thread '{self._thread.name}' is shut down")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((future, fn, args))
        return future

    def _run(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            future, fn, args = call
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited its turn
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False,
                 timeout: float | None = None) -> bool:
        """Take no more calls; the queued ones still run unless ``cancel_futures``. With
        ``wait``, join the thread for at most ``timeout`` seconds (None: as long as it takes);
        returns True when the thread has ended."""
        if not self._shut:
            self._shut = True
            if cancel_futures:
                while True:
                    try:
                        call = self._calls.get_nowait()
                    except queue.Empty:
                        break
                    if call is not None:
                        call[0].cancel()
            self._calls.put(None)
        if wait:
            self._thread.join(timeout)
        return not self._thread.is_alive()


class IOThread:
    """One asyncio event loop running in one background daemon thread.

    ``start()`` it once, hand it coroutines with ``submit``, and ``stop()`` it at shutdown: that
    cancels whatever is still running and joins the thread, waiting at most ``timeout`` seconds.
    As a context manager it starts on entry and stops on exit.
    """

    def __init__(self, name: str = "io") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._shutdown_sent = False
        self._worker: BlockingWorker | None = None  # made by the first every(blocking=True)
        self._worker_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 5.0) -> None:
        """Start the thread and return once its event loop is running."""
        if self._thread is not None:
            raise RuntimeError(f"I/O thread '{self.name}' was already started")
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._log_loop_error)
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop, ready), name=self.name,
                                        daemon=True)  # never keeps a crashed bot's process alive
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"I/O thread '{self.name}' did not start within {timeout:g}s")

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            except (RuntimeError, asyncio.CancelledError):  # a stubborn task: close as it is
                pass
            finally:
                loop.close()

    def __enter__(self) -> "IOThread":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the loop accepts work (between ``start`` and ``stop``)."""
        return (self._loop is not None and not self._stopping and self._thread is not None
                and self._thread.is_alive())

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop, for clients that must be built on it (call only from coroutines)."""
        if self._loop is None:
            raise RuntimeError(f"I/O thread '{self.name}' is not started")
        return self._loop

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel every task still running, stop the loop and join the thread, then let the
        worker thread finish the blocking call in hand (none is started after this).

        Waits at most about ``timeout`` seconds in all (tasks get 80% of it to finish their
        cancellation). Returns True when both threads have ended, so nothing of this thread
        still uses what the caller closes next; False, with a warning, when the loop or the
        worker is blocked: both are daemons, so neither can keep the process alive. Calling it
        again later waits again.
        """
        self._stopping = True
        deadline = time.monotonic() + max(0.0, timeout)
        return self._stop_loop(timeout, deadline) & self._stop_worker(deadline)

    def _stop_loop(self, timeout: float, deadline: float) -> bool:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or not thread.is_alive():
            return True
        if not self._shutdown_sent:
            self._shutdown_sent = True
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(timeout * 0.8), loop)
            except RuntimeError:  # the loop closed in the meantime
                pass
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("I/O thread '%s' did not end within %gs (its loop is blocked); leaving "
                        "it to die with the process (daemon thread)", self.name, timeout)
            return False
        return True

    def _stop_worker(self, deadline: float) -> bool:
        worker = self._worker
        if worker is None:
            return True
        # the loop's tasks are cancelled by now: nothing queues another call
        if worker.shutdown(wait=True, cancel_futures=True,
                           timeout=max(0.0, deadline - time.monotonic())):
            return True
        log.warning("the worker thread of I/O thread '%s' is still in a blocking call; leaving "
                    "it to die with the process (daemon thread)", self.name)
        return False

    async def _shutdown(self, grace: float) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.warning("I/O thread '%s': task(s) still running %gs after cancel, closed "
                            "anyway: %s", self.name, grace, ", ".join(t.get_name() for t in pending))
        asyncio.get_running_loop().stop()  # only now: nothing can cancel the final clean-up

    # -- handing work in ---------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T], name: str | None = None
               ) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; thread-safe. A failure is logged (and kept in the future)."""
        if not self.running:
            coro.close()  # never awaited: close it so Python does not warn about it
            raise RuntimeError(f"I/O thread '{self.name}' is not running; call start() first")
        label = name or getattr(coro, "__qualname__", repr(coro))
        future = asyncio.run_coroutine_threadsafe(self._named(coro, label), self._loop)
        future.add_done_callback(lambda f: self._log_failure(f, label))
        return future

    @staticmethod
    async def _named(coro: Awaitable[T], name: str) -> T:
        task = asyncio.current_task()
        if task is not None:
            task.set_name(name)
        return await coro

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any
                   ) -> concurrent.futures.Future[Any]:
        """Call ``fn(*args)`` on the loop after ``delay`` seconds; thread-safe, cancellable."""
        async def later() -> Any:
            await asyncio.sleep(delay)
            return fn(*args)

        return self.submit(later(), name=getattr(fn, "__qualname__", repr(fn)))

    def every(self, seconds: float, fn: Callable[[], Any], name: str | None = None, *,
              blocking: bool = False) -> concurrent.futures.Future[None]:
        """Call ``fn`` (plain or async) every ``seconds`` on the loop, first after ``seconds``.

        ``blocking=True``: ``fn`` is a plain function that may block (a database write, a file):
        it runs in this thread's one worker thread, while the loop goes on serving its sockets;
        every blocking call of this thread shares that worker, so they never overlap.

        The schedule is fixed on the loop's monotonic clock, so it does not drift with the time
        ``fn`` takes; a late tick is not repeated, and the next call waits for the last one to
        end. A failing call is logged and the next one still runs. Cancel the returned future to
        stop it (a blocking call already running ends first; ``stop()`` waits for it).
        """
        if seconds <= 0:
            raise ValueError(f"every() needs a positive period, got {seconds!r}")
        label = name or getattr(fn, "__qualname__", repr(fn))
        if blocking:
            if inspect.iscoroutinefunction(fn):
                raise TypeError(f"every(blocking=True) needs a plain function, not the coroutine "
                                f"function {label}")
            worker = self._blocking_worker()

        async def periodic() -> None:
            loop = asyncio.get_running_loop()
            due = loop.time() + seconds
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                try:
                    if blocking:
                        await loop.run_in_executor(worker, fn)
                    else:
                        result = fn()
                        if inspect.isawaitable(result):
                            await result
                except Exception:
                    log.exception("periodic task %s failed (it keeps running)", label)
                due += seconds
                if due < loop.time():  # fell behind (a slow call): skip, do not burst
                    due = loop.time() + seconds

        return self.submit(periodic(), name=label)

    def run_blocking(self, fn: Callable[[], T], name: str | None = None
                     ) -> concurrent.futures.Future[T]:
        """Run the plain function ``fn`` once, soon, in the worker thread that ``every(...,
        blocking=True)`` uses (after the call in hand); thread-safe. A failure is logged."""
        label = name or getattr(fn, "__qualname__", repr(fn))
        future = self._blocking_worker().submit(fn)
        future.add_done_callback(lambda f: self._log_failure(f, label))
        return future

    def _blocking_worker(self) -> BlockingWorker:
        """The worker thread for blocking calls, started on first use."""
        if not self.running:
            raise RuntimeError(f"I/O thread '{self.name}' is not running; call start() first")
        with self._worker_lock:
            if self._worker is None:
                self._worker = BlockingWorker(name=f"{self.name}-worker")
            return self._worker

    # -- making failures visible -------------------------------------------------------------
    @staticmethod
    def _log_failure(future: concurrent.futures.Future, name: str) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("task %s failed: %s", name, exc, exc_info=exc)

    def _log_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # callbacks and tasks created inside coroutines (whose exception nobody retrieved)
        exc = context.get("exception")
        log.error("I/O thread '%s': %s", self.name, context.get("message", "error"),
                  exc_info=exc if isinstance(exc, BaseException) else None)

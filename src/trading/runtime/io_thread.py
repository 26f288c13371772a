"""The bot's one I/O thread: a single asyncio event loop in a background daemon thread.

Every network client (exchange REST/WebSocket, IB gateway, Telegram, ...) runs on this loop, so
Backtrader's main thread never waits on the network: the two sides meet only at thread-safe
queues. Work is handed in with ``submit`` (a coroutine), ``call_later`` or ``every``; a task
that fails is logged here, so no exception is lost even when nobody reads its future.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        """Cancel every task still running, stop the loop and join the thread.

        Waits at most about ``timeout`` seconds in all (tasks get 80% of it to finish their
        cancellation). Returns True when the thread has ended; False, with a warning, when the
        loop is blocked: the thread is a daemon, so it cannot keep the process alive. Calling it
        again later waits again.
        """
        self._stopping = True
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or not thread.is_alive():
            return True
        if not self._shutdown_sent:
            self._shutdown_sent = True
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(timeout * 0.8), loop)
            except RuntimeError:  # the loop closed in the meantime
                pass
        thread.join(max(0.0, timeout))
        if thread.is_alive():
            log.warning("I/O thread '%s' did not end within %gs (its loop is blocked); leaving "
                        "it to die with the process (daemon thread)", self.name, timeout)
            return False
        return True

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

    def every(self, seconds: float, fn: Callable[[], Any], name: str | None = None
              ) -> concurrent.futures.Future[None]:
        """Call ``fn`` (plain or async) every ``seconds`` on the loop, first after ``seconds``.

        The schedule is fixed on the loop's monotonic clock, so it does not drift with the time
        ``fn`` takes; a late tick is not repeated. A failing call is logged and the next one still
        runs. Cancel the returned future to stop it.
        """
        if seconds <= 0:
            raise ValueError(f"every() needs a positive period, got {seconds!r}")
        label = name or getattr(fn, "__qualname__", repr(fn))

        async def periodic() -> None:
            loop = asyncio.get_running_loop()
            due = loop.time() + seconds
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                try:
                    result = fn()
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("periodic task %s failed (it keeps running)", label)
                due += seconds
                if due < loop.time():  # fell behind (a slow call): skip, do not burst
                    due = loop.time() + seconds

        return self.submit(periodic(), name=label)

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

"""What every venue connection shares: it lives on the bot's I/O thread, and the broker (on the
Cerebro thread) hands it work with ``submit``. The runtime ``bind``s it to that thread."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from trading.core.errors import VenueError


class IOBound:
    """``bind(submit)`` once; then ``submit(coro, name)`` from any thread. ``NAME`` says which
    connection in messages."""

    NAME = "the venue connection"
    _submit: Callable[..., Any] | None = None

    def bind(self, submit: Callable[..., Any]) -> None:
        """``submit(coro, name=...)`` runs a coroutine on the I/O thread (``IOThread.submit``)."""
        self._submit = submit

    def submit(self, coro: Awaitable[Any], name: str) -> Any:
        """Run ``coro`` on the I/O thread; thread-safe. Returns a concurrent future."""
        if self._submit is None:
            raise VenueError(f"{self.NAME} is not bound to an I/O thread")
        return self._submit(coro, name=name)

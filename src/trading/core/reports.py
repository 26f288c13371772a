"""What a venue reports, as the kernel knows it: the queue that carries a venue's order updates
from the I/O thread to the Cerebro thread.

Putting an update wakes the consumer (the live feed's wait between bars), so a fill is acted on
when it arrives, not when the next bar does.
"""
from __future__ import annotations

import queue
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class UpdateQueue(Generic[T]):
    """A thread-safe queue of order updates whose ``put`` also calls the consumer's wake-up.

    ``put`` runs on the I/O thread, ``drain`` on the Cerebro thread; ``wake_with(fn)`` sets the
    call (thread-safe, never blocking) that makes the Cerebro loop run now.
    """

    def __init__(self) -> None:
        self._items: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._wake: Callable[[], None] | None = None

    def wake_with(self, wake: Callable[[], None] | None) -> None:
        self._wake = wake

    def put(self, item: T) -> None:
        self._items.put(item)
        wake = self._wake
        if wake is not None:
            wake()

    def empty(self) -> bool:
        return self._items.empty()

    def get_nowait(self) -> T:
        return self._items.get_nowait()

    def drain(self) -> list[T]:
        """Every update queued so far, oldest first (never waits)."""
        items: list[T] = []
        while True:
            try:
                items.append(self._items.get_nowait())
            except queue.Empty:
                return items

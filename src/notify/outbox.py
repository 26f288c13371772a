"""A bounded queue that, when full, drops the least important oldest item: never a trade first.

Safe from any thread (one short lock; ``put`` never waits), so the Cerebro thread can hand
events to the I/O thread through it. Items are ranked by a priority number (``messages``:
0 trades, 1 errors and the rest, 2 status news); a full queue drops the oldest item of the
highest number present. Only a queue holding nothing but trades drops a trade (the oldest).
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    """Bounded FIFO of ``(priority, item)``; ``put`` returns the item it had to drop, if any."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"an outbox needs maxsize >= 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: deque[tuple[int, T]] = deque()
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, item: T, priority: int) -> T | None:
        """Append ``item``; when full, first drop the oldest least important item (returned)."""
        with self._lock:
            dropped = None
            if len(self._items) >= self.maxsize:
                dropped = self._drop_one()
            self._items.append((priority, item))
            return dropped

    def _drop_one(self) -> T:
        worst = max(priority for priority, _ in self._items)
        for index, (priority, item) in enumerate(self._items):
            if priority == worst:
                del self._items[index]
                self.dropped += 1
                return item
        raise AssertionError("unreachable: a full outbox has an item of its worst priority")

    def get(self) -> T | None:
        """The oldest item, or None when empty."""
        with self._lock:
            return self._items.popleft()[1] if self._items else None

    def __len__(self) -> int:
        return len(self._items)

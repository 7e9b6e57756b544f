"""The per-process in-memory buffer between the WAL and Redis.

Request threads `reserve` room, append to the WAL, then `add`; the flusher `take`s a batch, applies it
without holding the buffer lock, then calls `done` (or `requeue` when Redis failed). `pending` counts
everything not yet in Redis (reserved + queued + being applied): the API answers 503 once a write would
take it past BUFFER_MAX_PENDING.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .errors import BufferFull
from .writes import Write


class Pending(NamedTuple):
    """A buffered write and its `source`: what to release once it is in Redis (a WAL segment for API
    writes; a stream entry id for the stream consumer), and when it was queued (time.monotonic())."""

    write: Write
    source: Any
    added_at: float


def pending_items(writes: Iterable[Write], source: Any) -> list[Pending]:
    """`writes` from one `source`, queued now."""
    now = time.monotonic()
    return [Pending(write, source, now) for write in writes]


class WriteBuffer:
    def __init__(self, max_pending: int, retry_after: int) -> None:
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._items: deque[Pending] = deque()
        self._reserved = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self._wake_at = 1  # queued writes that end the flusher's wait (set by wait_ready)

    @property
    def pending(self) -> int:
        with self._cond:
            return self._reserved + len(self._items) + self._in_flight

    def queued(self) -> int:
        with self._cond:
            return len(self._items)

    def oldest_age(self) -> float:
        """Seconds the oldest queued write has waited (0 when empty)."""
        with self._cond:
            return time.monotonic() - self._items[0].added_at if self._items else 0.0

    def reserve(self, count: int) -> None:
        with self._cond:
            pending = self._reserved + len(self._items) + self._in_flight
            if pending + count > self.max_pending:
                raise BufferFull(pending, self.max_pending, self.retry_after)
            self._reserved += count

    def cancel(self, count: int) -> None:
        with self._cond:
            self._reserved -= count

    def add(self, items: Sequence[Pending], reserved: bool = True) -> None:
        """Queue `items`; `reserved=False` for replayed writes, which were acknowledged long ago and are
        taken whatever the limit."""
        with self._cond:
            if reserved:
                self._reserved -= len(items)
            was_empty = not self._items
            self._items.extend(items)
            # the flusher's deadline only moves when the queue was empty; otherwise wake it at its size limit
            if was_empty or len(self._items) >= self._wake_at:
                self._cond.notify_all()

    def wait_ready(self, max_items: int, max_age_s: float, timeout: float, force: threading.Event) -> None:
        """Block until `max_items` are queued, the oldest is `max_age_s` old, `force` is set, or `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._wake_at = max_items
            while not force.is_set():
                now = time.monotonic()
                if len(self._items) >= max_items:
                    return
                if self._items and now - self._items[0].added_at >= max_age_s:
                    return
                wait = deadline - now
                if self._items:
                    wait = min(wait, self._items[0].added_at + max_age_s - now)
                if wait <= 0:
                    return
                self._cond.wait(wait)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def take(self, limit: int) -> list[Pending]:
        with self._cond:
            count = min(limit, len(self._items))
            batch = [self._items.popleft() for _ in range(count)]
            self._in_flight += count
            return batch

    def done(self, batch: Sequence[Pending]) -> None:
        with self._cond:
            self._in_flight -= len(batch)
            self._cond.notify_all()

    def requeue(self, batch: Sequence[Pending]) -> None:
        """Put a batch that could not be applied back at the front, in its order."""
        with self._cond:
            self._in_flight -= len(batch)
            self._items.extendleft(reversed(batch))
            self._cond.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._reserved + len(self._items) + self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


def count_by_source(batch: Iterable[Pending]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for item in batch:
        counts[item.source] = counts.get(item.source, 0) + 1
    return counts

"""One producer run: generate trades on schedule in this thread, deliver batches from `concurrency` sender
threads, print progress, stop at the count / duration / a signal / a persistent error."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from .delivery import Delivery, Interrupted, ProducerError
from .market import TradeGenerator
from .pacing import Pacer
from .progress import ProgressLine, RunStats

log = logging.getLogger(__name__)

IDLE_SLICE_SECONDS = 0.05  # longest sleep of the generating loop (keeps stop and progress responsive)


class Target(Protocol):
    def describe(self) -> str: ...

    def start(self) -> None: ...

    def send(self, trades: list[dict[str, Any]]) -> Delivery: ...


@dataclass(frozen=True)
class RunLimits:
    rate: float  # trades/s; 0 = as fast as the target takes them
    duration: float | None = None  # seconds
    count: int | None = None  # trades
    batch_size: int = 100
    concurrency: int = 1  # sender threads
    max_rejected_batches: int = 10  # this many rejected batches in a row end the run


class _Senders:
    """Sender threads that take batches from a bounded queue; the first persistent error is kept."""

    def __init__(self, target: Target, stats: RunStats, limits: RunLimits) -> None:
        self.target = target
        self.stats = stats
        self.limits = limits
        self.batches: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=limits.concurrency * 2)
        self.error: ProducerError | None = None
        self.threads = [
            threading.Thread(target=self._loop, name=f"producer-sender-{i}", daemon=True)
            for i in range(limits.concurrency)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _loop(self) -> None:
        while True:
            batch = self.batches.get()
            if batch is None:
                return
            if self.error is not None:
                self.stats.record_unsent(len(batch))
                continue
            try:
                delivery = self.target.send(batch)
            except Interrupted:
                self.stats.record_unsent(len(batch))
                continue
            except ProducerError as exc:
                self.error = self.error or exc
                self.stats.record_unsent(len(batch))
                continue
            if self.stats.record(len(batch), delivery) >= self.limits.max_rejected_batches:
                self.error = self.error or ProducerError(
                    f"{self.limits.max_rejected_batches} batches in a row were rejected; first reason: "
                    f"{self.stats.first_rejection}"
                )

    def put(self, batch: list[dict[str, Any]], stopping: Callable[[], bool], waiting: Callable[[], None]) -> bool:
        """Queues `batch` for a sender; `waiting()` runs while the senders are busy (the progress line)."""
        while not stopping() and self.error is None:
            try:
                self.batches.put(batch, timeout=IDLE_SLICE_SECONDS)
                return True
            except queue.Full:
                waiting()
        return False

    def stop(self) -> None:
        for _ in self.threads:
            self.batches.put(None)
        for thread in self.threads:
            thread.join()


def run(
    generator: TradeGenerator,
    target: Target,
    limits: RunLimits,
    stopping: Callable[[], bool],
    progress_stream: IO[str],
) -> dict[str, object]:
    """Runs until done; returns the summary. Raises ProducerError (after printing the summary) on a
    persistent error."""
    target.start()
    stats = RunStats()
    progress = ProgressLine(stats, progress_stream)
    senders = _Senders(target, stats, limits)
    pacer = Pacer(limits.rate)
    generated = 0
    senders.start()
    try:
        while not stopping() and senders.error is None:
            if limits.count is not None and generated >= limits.count:
                break
            if limits.duration is not None and time.monotonic() - pacer.start >= limits.duration:
                break
            progress.maybe_print()
            due = pacer.due(generated)
            if due <= 0:
                time.sleep(min(pacer.seconds_until_next(generated), IDLE_SLICE_SECONDS))
                continue
            size = min(due, limits.batch_size)
            if limits.count is not None:
                size = min(size, limits.count - generated)
            batch = generator.next_batch(size)
            generated += size
            if not senders.put(batch, stopping, progress.maybe_print):
                stats.record_unsent(size)
    finally:
        senders.stop()
    summary = stats.summary()
    progress.finish(summary)
    if senders.error is not None:
        raise senders.error
    return summary

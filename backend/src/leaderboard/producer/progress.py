"""Counters of a run (thread-safe), the live progress line and the final summary.

On a terminal: a live line redrawn at least every second. Elsewhere (a log collector, `leaderboard run`'s log
file): a JSON log line every `quiet_every` seconds instead. Then the summary, once, as a line for a person."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from .delivery import Delivery

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    sent: int = 0  # trades handed to the target
    acknowledged: int = 0
    rejected: int = 0
    unsent: int = 0  # trades dropped because the run stopped while they waited for a retry
    retries: int = 0
    batches: int = 0
    consecutive_rejections: int = 0
    first_rejection: str = ""
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, size: int, delivery: Delivery) -> int:
        """Adds one batch's outcome; returns the number of consecutive rejected batches."""
        with self.lock:
            self.sent += size
            self.batches += 1
            self.acknowledged += delivery.accepted
            self.rejected += delivery.rejected
            self.retries += delivery.retries
            if delivery.rejected and not delivery.accepted:
                self.consecutive_rejections += 1
                self.first_rejection = self.first_rejection or delivery.reason
            else:
                self.consecutive_rejections = 0
            return self.consecutive_rejections

    def record_unsent(self, size: int) -> None:
        with self.lock:
            self.unsent += size

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def summary(self) -> dict[str, object]:
        with self.lock:
            elapsed = self.elapsed()
            return {
                "sent": self.sent,
                "acknowledged": self.acknowledged,
                "rejected": self.rejected,
                "unsent": self.unsent,
                "retries": self.retries,
                "batches": self.batches,
                "seconds": round(elapsed, 3),
                "trades_per_second": round(self.acknowledged / elapsed, 1),
                "first_rejection": self.first_rejection,
            }


def is_terminal(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def say(stream: IO[str], text: str, event: str, **fields: object) -> None:
    """A line for a person on a terminal, else a JSON log line."""
    if is_terminal(stream):
        stream.write(text + "\n")
        stream.flush()
    else:
        log.info(text, extra={"event": event, **fields})


class ProgressLine:
    """Rewrites one line on a terminal about once a second; elsewhere logs a line every `quiet_every`."""

    def __init__(self, stats: RunStats, stream: IO[str], interval: float = 1.0, quiet_every: float = 30.0) -> None:
        self.stats = stats
        self.stream = stream
        self.live = is_terminal(stream)
        self.interval = interval if self.live else quiet_every
        self.last_time = time.monotonic()
        self.last_acknowledged = 0

    def maybe_print(self) -> None:
        now = time.monotonic()
        if now - self.last_time < self.interval:
            return
        with self.stats.lock:
            sent, acknowledged, rejected = self.stats.sent, self.stats.acknowledged, self.stats.rejected
        rate = round((acknowledged - self.last_acknowledged) / max(now - self.last_time, 1e-9), 1)
        self.last_time, self.last_acknowledged = now, acknowledged
        line = f"sent {sent:,}  acknowledged {acknowledged:,}  rejected {rejected:,}  rate {rate:,} trades/s"
        if not self.live:
            log.info(line, extra={"event": "producer_progress", "sent": sent, "acknowledged": acknowledged,
                                  "rejected": rejected, "trades_per_second": rate})
            return
        self.stream.write(f"\r\x1b[2K{line}")
        self.stream.flush()

    def finish(self, summary: dict[str, object]) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
        self.stream.write(
            f"done: sent {summary['sent']:,}, acknowledged {summary['acknowledged']:,}"
            f", rejected {summary['rejected']:,}"
            f", unsent {summary['unsent']:,}, retries {summary['retries']:,} in {summary['seconds']} s"
            f" ({summary['trades_per_second']:,} trades/s)\n"
        )
        if summary["first_rejection"]:
            self.stream.write(f"first rejection: {summary['first_rejection']}\n")
        self.stream.flush()

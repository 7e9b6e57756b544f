"""What a target reports for one batch, and the errors that end a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class ProducerError(RuntimeError):
    """A persistent problem (the API keeps failing, the endpoint is missing): the run stops, exit non-zero."""


class AuthFailed(ProducerError):
    """The credentials were refused, or a fresh token was refused again."""


class Interrupted(Exception):
    """A stop was asked while a batch was waiting to be retried; the batch was not delivered."""


@dataclass(frozen=True)
class Delivery:
    accepted: int  # trades the target acknowledged
    rejected: int  # trades the target refused as invalid (never retried: the same bytes would fail again)
    retries: int = 0  # extra attempts this batch needed (429/503/connection errors)
    reason: str = ""  # why the batch was rejected, for the summary


def interruptible_sleep(seconds: float, stopping: Callable[[], bool], slice_seconds: float = 0.05) -> None:
    """Sleep `seconds`, waking early (raising Interrupted) when `stopping()` turns true."""
    deadline = time.monotonic() + seconds
    while True:
        if stopping():
            raise Interrupted()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(slice_seconds, remaining))

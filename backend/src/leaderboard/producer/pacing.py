"""Rate control: trade k (from 0) is due at start + k / rate, so the average rate is exact even at 2/s.

After a long stall (a backoff), the backlog beyond MAX_CATCH_UP_SECONDS is dropped rather than burst at a
server that just asked us to slow down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_CATCH_UP_SECONDS = 1.0  # at most this much of a backlog is sent as a burst


class Pacer:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0 (0 = unlimited)")
        self.rate = rate
        self.clock = clock
        self.start = clock()
        self.offset = 0  # trades forgiven after stalls

    @property
    def unlimited(self) -> bool:
        return self.rate == 0

    def due(self, sent: int) -> int:
        """How many trades should be sent now (a large number when unlimited)."""
        if self.unlimited:
            return 1 << 30
        scheduled = math.floor((self.clock() - self.start) * self.rate) + 1 - self.offset
        backlog = scheduled - sent
        allowed = max(1, math.ceil(self.rate * MAX_CATCH_UP_SECONDS))
        if backlog > allowed:
            self.offset += backlog - allowed
            backlog = allowed
        return max(backlog, 0)

    def seconds_until_next(self, sent: int) -> float:
        if self.unlimited:
            return 0.0
        next_due_at = self.start + (sent + self.offset) / self.rate
        return max(next_due_at - self.clock(), 0.0)

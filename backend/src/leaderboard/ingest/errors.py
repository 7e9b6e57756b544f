"""What the write path refuses, as exceptions of its own; `leaderboard.api_errors` maps each to its HTTP answer."""

from __future__ import annotations


class BufferFull(Exception):
    """The buffer holds BUFFER_MAX_PENDING writes not yet in Redis: try again after `retry_after` s."""

    def __init__(self, pending: int, limit: int, retry_after: int) -> None:
        super().__init__(f"{pending} writes are waiting for Redis (limit {limit})")
        self.retry_after = retry_after


class IngestDisabled(RuntimeError):
    """INGEST_ENABLED is off in this process, or its write path is stopped: try again after `retry_after` s
    (RETRY_AFTER_SECONDS; another process may take the write)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""How every part of the service gets a Redis client, with no web framework: the domain packages and the run
loops use it directly, the app through redis_conn.py."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from .config import Settings


def connect(settings: Settings, url: str | None = None, timeout: float | None = None) -> Any:
    """A client for `url` (default settings.REDIS_URL): RedisCluster when REDIS_CLUSTER is set. `timeout`:
    seconds a call (and a connect) may take, default REDIS_SOCKET_TIMEOUT; a bounded caller passes less."""
    target = url or settings.REDIS_URL
    bounded = timeout is not None
    if timeout is None:
        timeout = settings.REDIS_SOCKET_TIMEOUT
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
    }
    if bounded:  # one attempt: redis-py's default retries (with back-off) would multiply the bound
        options["retry"] = Retry(NoBackoff(), 0)
    if settings.REDIS_CLUSTER:
        return RedisCluster.from_url(target, **options)
    return redis.Redis.from_url(target, **options)


class BoundedRedis:
    """Redis for the calls a request may wait on only briefly because it has a fallback (the token
    revocation check, a trade's id claim): its own pool whose calls and connects time out after
    REQUEST_REDIS_TIMEOUT_MS, and after a failure `available()` is False for REQUEST_REDIS_RETRY_SECONDS, so
    requests take their fallback at once and an outage costs one timeout per period, not one per request."""

    def __init__(self, settings: Settings) -> None:
        self.client = connect(settings, timeout=settings.REQUEST_REDIS_TIMEOUT_MS / 1000)
        self.retry_s = settings.REQUEST_REDIS_RETRY_SECONDS
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def failed(self) -> bool:
        """Record a failed call; True for the first failure after a good period (log it once)."""
        now = time.monotonic()
        with self._lock:
            first = now >= self._skip_until
            self._skip_until = now + self.retry_s
        return first

"""The Redis client of an app: `get_redis()` plus its `init_app`.

Connections are made lazily (importing or building the app opens none) and the pool is per process
(redis-py resets it after a fork, so gunicorn workers never share sockets).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from . import defaults
from .config import Settings
from .context import current_settings

EXTENSION_KEY = "leaderboard.redis"
BOUNDED_KEY = "leaderboard.redis_bounded"
HEALTH_KEY = "leaderboard.redis_health"


def connect(settings: Settings, url: str | None = None, timeout: float | None = None) -> Any:
    """A client for `url` (default settings.REDIS_URL): RedisCluster when REDIS_CLUSTER is set. `timeout`:
    seconds a call (and a connect) may take, default REDIS_SOCKET_TIMEOUT; a bounded caller passes less."""
    target = url or settings.REDIS_URL
    bounded = timeout is not None
    if timeout is None:
        timeout = settings.extra.get("REDIS_SOCKET_TIMEOUT", 2.0)
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


def get_redis() -> Any:
    client = current_app.extensions.get(EXTENSION_KEY)
    if client is None:
        client = connect(current_settings())
        current_app.extensions[EXTENSION_KEY] = client
    return client


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]
    if not settings.REDIS_URL:
        raise RuntimeError(
            "REDIS_URL is empty: start the service with `leaderboard serve` (which starts an embedded Redis) "
            "or point REDIS_URL at a Redis."
        )


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


def bounded_redis() -> BoundedRedis:
    """The app's BoundedRedis (one per process, made on first use)."""
    bounded = current_app.extensions.get(BOUNDED_KEY)
    if bounded is None:
        bounded = current_app.extensions.setdefault(BOUNDED_KEY, BoundedRedis(current_app.config["SETTINGS"]))
    return bounded  # type: ignore[no-any-return]


def health_redis() -> Any:
    """The client of /ready's checks: calls time out after REDIS_HEALTH_TIMEOUT, so a stalled Redis makes
    /ready answer 503 quickly instead of hanging a load balancer's probe."""
    client = current_app.extensions.get(HEALTH_KEY)
    if client is None:
        client = current_app.extensions.setdefault(
            HEALTH_KEY, connect(current_app.config["SETTINGS"], timeout=defaults.REDIS_HEALTH_TIMEOUT))
    return client

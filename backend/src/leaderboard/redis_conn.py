"""The Redis client of an app: `get_redis()` plus its `init_app`.

Connections are made lazily (importing or building the app opens none) and the pool is per process
(redis-py resets it after a fork, so gunicorn workers never share sockets).
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from redis.cluster import RedisCluster

from .config import Settings
from .context import current_settings

EXTENSION_KEY = "leaderboard.redis"


def connect(settings: Settings, url: str | None = None, timeout: float | None = None) -> Any:
    """A client for `url` (default settings.REDIS_URL): RedisCluster when REDIS_CLUSTER is set. `timeout`:
    seconds a call (and a connect) may take, default REDIS_SOCKET_TIMEOUT; a bounded caller passes less."""
    target = url or settings.REDIS_URL
    if timeout is None:
        timeout = settings.extra.get("REDIS_SOCKET_TIMEOUT", 2.0)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
    }
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

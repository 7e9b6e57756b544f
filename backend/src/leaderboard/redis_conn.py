"""The Redis clients of an app: `get_redis()` plus its `init_app`, `bounded_redis()` and `health_redis()`
(clients are made by redis_client.py, which the domain packages use without an app).

Connections are made lazily (importing or building the app opens none) and the pool is per process
(redis-py resets it after a fork, so server workers never share sockets).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from . import defaults
from .config import Settings
from .context import current_settings
from .redis_client import BoundedRedis, connect

EXTENSION_KEY = "leaderboard.redis"
BOUNDED_KEY = "leaderboard.redis_bounded"
HEALTH_KEY = "leaderboard.redis_health"


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


def bounded_redis() -> BoundedRedis:
    """The app's BoundedRedis (one per process, made on first use)."""
    bounded = current_app.extensions.get(BOUNDED_KEY)
    if bounded is None:
        bounded = current_app.extensions.setdefault(BOUNDED_KEY, BoundedRedis(current_settings()))
    return bounded  # type: ignore[no-any-return]


def health_redis() -> Any:
    """The client of /ready's checks: calls time out after REDIS_HEALTH_TIMEOUT, so a stalled Redis makes
    /ready answer 503 quickly instead of hanging a load balancer's probe."""
    client = current_app.extensions.get(HEALTH_KEY)
    if client is None:
        client = current_app.extensions.setdefault(
            HEALTH_KEY, connect(current_settings(), timeout=defaults.REDIS_HEALTH_TIMEOUT))
    return client

"""The real app in this process, for profiles and per-trade costs: a fresh embedded Redis, a service account,
the Flask test client with its bearer headers. The write path's final flush runs on the way out."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis as redis_lib

from leaderboard import create_app
from leaderboard.auth.users import UserStore
from leaderboard.embedded_redis import EmbeddedRedis


@contextlib.contextmanager
def service_app(**settings: Any) -> Iterator[tuple[Any, dict[str, str], Any]]:
    """(test client, headers of a logged-in service account, Redis client); `settings` override the app's."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp, \
            EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server:
        client = redis_lib.Redis.from_url(server.url)
        UserStore(client).create("venue", "venue-password-123", "Venue", "service")
        app = create_app({"REDIS_URL": server.url, "JWT_SECRET_KEY": "b" * 40, "DATA_DIR": Path(tmp) / "data",
                          "DEV_MODE": False, **settings})
        logging.getLogger().setLevel(logging.WARNING)  # as the benchmarks run the service: no access line
        http = app.test_client()
        token = http.post("/v1/login", json={"username": "venue", "password": "venue-password-123"}).json
        headers = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json"}
        try:
            yield http, headers, client
        finally:
            from leaderboard.ingest import runtime

            runtime.stop_all()
            client.close()

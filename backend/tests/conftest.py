"""Fixtures: a real redis-server for the session (started by our own code), an app per test on a clean
database, a test client, and an `auth` helper that registers and logs users in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from leaderboard import create_app
from leaderboard.auth.users import UserStore
from leaderboard.embedded_redis import EmbeddedRedis

from .cluster import LocalRedisCluster

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real redis-server for the whole run; tests get a flushed database each."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server
    server.stop()


WEB_SERVERS = ("granian", "gunicorn")  # the default server first; WEB_SERVER=gunicorn stays supported


@pytest.fixture(params=WEB_SERVERS)
def web_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once per HTTP server: `leaderboard serve` processes started from os.environ use it."""
    monkeypatch.setenv("WEB_SERVER", request.param)
    return str(request.param)


@pytest.fixture(scope="session")
def redis_cluster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisCluster]:
    """A local 3-master Redis Cluster (started on first use, shared by the session)."""
    with LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture()
def redis_cluster(redis_cluster_server: LocalRedisCluster) -> LocalRedisCluster:
    """The session's cluster, emptied for this test. Apps use it with REDIS_CLUSTER=1, REDIS_URL=.url."""
    redis_cluster_server.flushall()
    return redis_cluster_server


@pytest.fixture()
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture()
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture()
def app_config(redis_client: redis_lib.Redis, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """Override in a test module to change settings."""
    return {
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": TEST_SECRET,
        "DATA_DIR": tmp_path / "data",
        "DEV_MODE": False,
    }


@pytest.fixture()
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    app = create_app(app_config)
    yield app
    client = app.extensions.get("leaderboard.redis")
    if client is not None:
        client.close()


@pytest.fixture()
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture()
def runner(app: Any) -> Any:
    return app.test_cli_runner()


class AuthActions:
    """Register, log in and build Authorization headers the way a client would."""

    password = "correct-horse-battery"

    def __init__(self, client: Any, app: Any) -> None:
        self.client = client
        self.app = app

    def register(self, username: str | None = None, **extra: Any) -> str:
        username = username or f"user{uuid.uuid4().hex[:8]}"
        response = self.client.post(
            "/v1/auth/register", json={"username": username, "password": self.password, **extra}
        )
        assert response.status_code == 201, response.json
        return username

    def create(self, username: str, role: str) -> str:
        """Service/admin accounts are made by the CLI; tests make them through the same store."""
        with self.app.app_context():
            from leaderboard.redis_conn import get_redis

            assert UserStore(get_redis()).create(username, self.password, username, role) is not None
        return username

    def login(self, username: str, password: str | None = None) -> dict[str, Any]:
        response = self.client.post("/v1/login", json={"username": username, "password": password or self.password})
        assert response.status_code == 200, response.json
        return response.json

    def headers(self, username: str | None = None, role: str = "trader") -> dict[str, str]:
        """Authorization headers for a fresh user with `role` (or for an existing `username`)."""
        if username is None:
            username = self.register() if role == "trader" else self.create(f"{role}{uuid.uuid4().hex[:6]}", role)
        return bearer(self.login(username)["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def auth(client: Any, app: Any) -> AuthActions:
    return AuthActions(client, app)


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's environment by accident."""
    for name in ("REDIS_URL", "JWT_SECRET_KEY", "DEV_MODE", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(autouse=True)
def _stop_ingest() -> Iterator[None]:
    """Every write path (WAL + flusher) a test started is flushed and stopped before the next test."""
    yield
    from leaderboard.ingest import runtime

    runtime.stop_all(timeout=5)

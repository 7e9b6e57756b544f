"""Fixtures: a real redis-server for the session (started by our own code), an app per test on a clean
database, a test client, and an `auth` helper that registers and logs users in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from leaderboard import create_app
from leaderboard.auth.users import UserStore
from leaderboard.embedded_redis import EmbeddedRedis

from .helpers import (
    CHROMIUM_ARGS,
    NOON,
    REFRESH_SECONDS,
    REPO,
    TEST_SECRET,
    UI_DIR,
    AuthActions,
    ConsoleWatch,
    LocalRedisCluster,
    ManualClock,
    Stack,
    require_chromium,
    running_process,
)


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
    from leaderboard.redis_client import BoundedRedis
    from leaderboard.redis_conn import BOUNDED_KEY, EXTENSION_KEY, HEALTH_KEY

    # every client the app made: a socket left to the garbage collector is a ResourceWarning, an error here
    for key in (EXTENSION_KEY, BOUNDED_KEY, HEALTH_KEY):
        client = app.extensions.get(key)
        if client is not None:
            (client.client if isinstance(client, BoundedRedis) else client).close()


@pytest.fixture()
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture()
def runner(app: Any) -> Any:
    return app.test_cli_runner()


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


@pytest.fixture()
def clock() -> ManualClock:
    """A manual clock at NOON (the read tests move it by hand; modules starting elsewhere define their own)."""
    return ManualClock(NOON)


@pytest.fixture()
def read_app_config(app_config: dict[str, Any], clock: ManualClock) -> dict[str, Any]:
    """The read tests' settings: `clock`, small limits (SNAPSHOT_TOP_N 50, MAX_LIMIT 20). A module uses them by
    overriding app_config with it."""
    return {**app_config, "CLOCK": clock, "SNAPSHOT_TOP_N": 50, "MAX_LIMIT": 20}


@pytest.fixture()
def venue_redis(tmp_path: Path) -> Iterator[tuple[EmbeddedRedis, redis_lib.Redis]]:
    """(server, client) of a Redis of this test's own (AOF on: it can be restarted with its data), with the
    `venue` service account (helpers.venue_login)."""
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True).start()
    client = redis_lib.Redis.from_url(server.url)
    UserStore(client).create("venue", "venue-password-123", "Venue", "service")
    yield server, client
    client.close()
    server.stop()


# --- the browser tests (Chromium through Playwright, the built dashboard) ---


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def ui_build() -> Path:
    """The dashboard's static export, built (or rebuilt when its sources changed) by `make ui`."""
    built = subprocess.run(["make", "--no-print-directory", "ui"], cwd=REPO, capture_output=True, text=True,
                           timeout=900, check=False)
    assert built.returncode == 0, f"make ui failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    assert (UI_DIR / "index.html").is_file()
    return UI_DIR


@pytest.fixture()
def stack(tmp_path: Path, redis_url: str, redis_client: redis_lib.Redis, ui_build: Path) -> Iterator[Stack]:
    """Settings shared by the API runs, and the scheduler (2 s refresh) running for the whole test."""
    # the "Today" board resets at UTC midnight: never let the test straddle it
    until_midnight = (datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                      - datetime.now(UTC)).total_seconds()
    if until_midnight < 120:
        time.sleep(until_midnight + 2)
    env = {"REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, "DEV_MODE": "0", "UI_DIST_DIR": str(ui_build),
           "REFRESH_SECONDS": REFRESH_SECONDS, "LOG_LEVEL": "WARNING"}
    scheduler_env = {**os.environ, **env, "DATA_DIR": str(tmp_path / "scheduler")}
    scheduler_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with running_process([sys.executable, "-m", "leaderboard", "scheduler"], scheduler_env,
                         tmp_path / "scheduler.log") as s:
        yield Stack(tmp_path, env)
        assert s.poll() is None, (tmp_path / "scheduler.log").read_text()[-3000:]


@pytest.fixture()
def browser_page(chromium: str, tmp_path: Path) -> Iterator[tuple[Any, ConsoleWatch]]:
    from playwright.sync_api import sync_playwright

    watch = ConsoleWatch()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark",
                                          locale="en-US", timezone_id="UTC")
            page = context.new_page()
            page.on("console", watch.on_console)
            page.on("pageerror", watch.on_page_error)
            page.set_default_timeout(15_000)
            yield page, watch
            context.close()
        finally:
            browser.close()

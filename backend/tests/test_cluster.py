"""The foundation on a real 3-master Redis Cluster (REDIS_CLUSTER=1): accounts, tokens, rotation,
revocation, readiness and the rate limiter's storage all work, and keys spread over the nodes."""

from __future__ import annotations

from typing import Any

import pytest
from redis.cluster import RedisCluster

from leaderboard import create_app

from .helpers import TEST_SECRET, AuthActions, assert_error, bearer

pytestmark = pytest.mark.slow


@pytest.fixture()
def app_config(redis_cluster, tmp_path) -> dict[str, Any]:
    return {"REDIS_URL": redis_cluster.url, "REDIS_CLUSTER": True, "JWT_SECRET_KEY": TEST_SECRET,
            "DATA_DIR": tmp_path / "data", "DEV_MODE": False}


def test_the_app_uses_the_cluster_client_and_limiter_storage(app):
    from leaderboard.redis_conn import get_redis

    with app.app_context():
        assert isinstance(get_redis(), RedisCluster)
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis+cluster://127.0.0.1:")


def test_ready_on_a_cluster(client):
    response = client.get("/ready")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["redis"]["ok"] is True


def test_register_login_refresh_rotation_logout_and_revocation_on_a_cluster(client, auth, redis_cluster):
    username = auth.register()
    tokens = auth.login(username)
    assert client.get("/v1/me", headers=bearer(tokens["access_token"])).json["username"] == username

    rotated = client.post("/v1/token/refresh", headers=bearer(tokens["refresh_token"]))
    assert rotated.status_code == 200
    reused = client.post("/v1/token/refresh", headers=bearer(tokens["refresh_token"]))
    assert_error(reused, 401)

    # the reuse ended the whole session on the cluster too: the rotated pair is dead as well
    new = rotated.json
    assert_error(client.get("/v1/me", headers=bearer(new["access_token"])), 401, "token_revoked")
    assert_error(client.post("/v1/token/refresh", headers=bearer(new["refresh_token"])), 401)

    fresh = auth.login(username)
    assert client.post("/v1/logout", headers=bearer(fresh["access_token"])).status_code == 200
    assert_error(client.get("/v1/me", headers=bearer(fresh["access_token"])), 401, "token_revoked")
    assert_error(client.post("/v1/token/refresh", headers=bearer(fresh["refresh_token"])), 401)

    # many accounts land on every master: the cluster is really sharding
    for _ in range(12):
        auth.register()
    assert all(redis_cluster.node(port).dbsize() > 0 for port in redis_cluster.ports)


def test_a_logout_in_another_app_instance_is_seen_on_a_cluster(app_config, auth):
    tokens = auth.login(auth.register())
    other = create_app(app_config).test_client()
    assert other.get("/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert other.post("/v1/logout", headers=bearer(tokens["access_token"])).status_code == 200
    # this instance never saw the token before: it asks the cluster
    third = create_app(app_config).test_client()
    assert_error(third.get("/v1/me", headers=bearer(tokens["access_token"])), 401, "token_revoked")


def test_login_rate_limit_is_stored_in_the_cluster(client, auth, redis_cluster):
    username = auth.register()
    for _ in range(5):
        assert client.post("/v1/login", json={"username": username, "password": "wrong-password"}).status_code == 401
    limited = client.post("/v1/login", json={"username": username, "password": auth.password})
    assert_error(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    stored = [key for port in redis_cluster.ports for key in redis_cluster.node(port).keys("*ratelimit*")]
    assert stored, "the limiter's counters should live in the cluster"


def test_auth_helper_service_accounts_on_a_cluster(client, app):
    headers = AuthActions(client, app).headers(role="admin")
    assert client.get("/v1/me", headers=headers).json["role"] == "admin"

"""Security headers, CORS only for configured origins, the per-account write limit, the access log line."""

from __future__ import annotations

import logging

import orjson

from leaderboard import create_app
from leaderboard.auth.guards import roles_required
from leaderboard.extensions import write_rate_limited
from leaderboard.http import json_response
from leaderboard.logs import JsonFormatter

from .helpers import (
    AuthActions,
    all_time_totals,
    assert_error,
    bearer,
    drain,
    metric_value,
    oracle,
    token_headers,
    trade,
)


def test_every_response_has_the_security_headers(client):
    for response in (client.get("/health"), client.get("/v1/me"), client.get("/nope/x"), client.get("/openapi.json")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_no_cors_headers_without_configured_origins(client):
    response = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/v1/login", headers={"Origin": "https://evil.example",
                                                     "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_only_for_configured_origins(app_config):
    client = create_app({**app_config, "CORS_ORIGINS": ("https://venue.example",)}).test_client()
    allowed = client.options("/v1/login", headers={"Origin": "https://venue.example",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://venue.example"
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    simple = client.get("/health", headers={"Origin": "https://venue.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://venue.example"
    assert "Retry-After" in simple.headers["Access-Control-Expose-Headers"]
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def _app_with_write_route(app_config, limit: str):
    app = create_app({**app_config, "WRITE_RATE_LIMIT": limit})

    @app.post("/v1/_test_write")
    @roles_required("trader", "service")
    @write_rate_limited
    def test_write():
        return json_response({"ok": True}, 202)

    @app.post("/v1/_test_write_other")
    @write_rate_limited
    def test_write_other():
        return json_response({"ok": True}, 202)

    return app


def test_write_rate_limit_is_per_account_shared_by_write_endpoints_with_retry_after(app_config):
    app = _app_with_write_route(app_config, "3 per minute")
    client = app.test_client()
    auth = AuthActions(client, app)
    alice, bob = auth.headers(), auth.headers()
    assert [client.post("/v1/_test_write", headers=alice).status_code for _ in range(2)] == [202, 202]
    assert client.post("/v1/_test_write_other", headers=alice).status_code == 202  # same budget
    limited = client.post("/v1/_test_write", headers=alice)
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    assert client.post("/v1/_test_write_other", headers=alice).status_code == 429
    # another account (same client address) has its own budget
    assert client.post("/v1/_test_write", headers=bob).status_code == 202


def test_write_rate_limit_needs_a_valid_token_first(app_config):
    client = _app_with_write_route(app_config, "1 per minute").test_client()
    for _ in range(3):
        assert_error(client.post("/v1/_test_write_other"), 401, "unauthorized")
        assert_error(client.post("/v1/_test_write_other", headers=bearer("not.a.token")), 401, "unauthorized")


def test_login_access_line_has_the_fields_and_no_password_or_token(client, auth, caplog):
    username = auth.register()
    with caplog.at_level(logging.INFO, logger="leaderboard.access"):
        response = client.post("/v1/login", json={"username": username, "password": auth.password},
                               headers={"X-Request-ID": "abc-123"})
    tokens = response.json
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "leaderboard.access"]
    assert len(lines) == 1
    line = lines[0]
    assert auth.password not in line
    assert tokens["access_token"] not in line and tokens["refresh_token"] not in line
    entry = orjson.loads(line)
    assert entry["event"] == "http_request" and entry["request_id"] == "abc-123"
    assert entry["method"] == "POST" and entry["route"] == "/v1/login" and entry["status"] == 200
    assert entry["latency_ms"] > 0 and entry["level"] == "info"


def test_unsafe_request_ids_are_replaced(client):
    for unsafe in ("bad id <script>", "x" * 500):
        response = client.get("/health", headers={"X-Request-ID": unsafe})
        assert response.headers["X-Request-ID"] != unsafe
    assert len(response.headers["X-Request-ID"]) == 32
    assert client.get("/health").headers["X-Request-ID"]


def test_access_log_can_be_turned_off(app_config, caplog):
    client = create_app({**app_config, "ACCESS_LOG": False}).test_client()
    with caplog.at_level(logging.INFO, logger="leaderboard.access"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "leaderboard.access"]


def _limited_app(app_config, **overrides):
    app = create_app({**app_config, "WRITE_RATE_LIMIT": "3 per minute", **overrides})
    return app, app.test_client()


def test_a_trader_over_the_write_limit_gets_429_with_retry_after_and_nothing_is_written(app_config, redis_client):
    from leaderboard import keys, metrics


    app, client = _limited_app(app_config)
    alice = token_headers(app, "alice", "trader")
    accepted = [trade(f"ok{i}") for i in range(3)]
    for item in accepted:
        assert client.post("/v1/trades", json=item, headers=alice).status_code == 202
    rejected_before = metric_value(metrics.exposition().decode(), "leaderboard_trades_rejected_total",
                                   reason="rate_limited")
    refused = client.post("/v1/trades", json=trade("refused", quantity="1000"), headers=alice)
    assert_error(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # the budget is shared by every write endpoint of the account
    assert_error(client.post("/v1/actions", json={}, headers=alice), 429, "rate_limited")
    assert_error(client.post("/v1/scores", json={"user_id": "alice", "score": 1, "action_id": "a1"}, headers=alice),
                 429, "rate_limited")
    assert metric_value(metrics.exposition().decode(), "leaderboard_trades_rejected_total", reason="rate_limited") - \
        rejected_before == 3
    # another trader has a budget of its own
    assert client.post("/v1/trades", json=trade("bob1", trader="bob"),
                       headers=token_headers(app, "bob", "trader")).status_code == 202
    drain(app)
    assert all_time_totals(redis_client) == oracle([*accepted, trade("bob1", trader="bob")])
    assert not redis_client.exists(keys.seen("btc", "t:refused"))


def test_service_accounts_skip_the_write_limit_without_touching_its_storage(app_config, redis_client):

    app, client = _limited_app(app_config)
    venue = token_headers(app, "venue", "service")
    for i in range(8):
        assert client.post("/v1/trades", json=trade(f"v{i}"), headers=venue).status_code == 202
    assert client.post("/api/leaderboard/score", json={"game_id": 1, "user_id": 7, "score": 5},
                       headers=venue).status_code == 200
    assert redis_client.keys("*ratelimit*") == []  # not one limiter call for the exempt account
    # admins are limited (not in the default exempt roles), on the compat write route too
    admin = token_headers(app, "root", "admin")
    codes = [client.post("/api/leaderboard/score", json={"game_id": 1, "user_id": 7, "score": 5 + i},
                         headers=admin).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert [key.decode() for key in redis_client.keys("*ratelimit*")] == [
        "LIMITS:LIMITER/lb:ratelimit/account:root/write/3/1/minute"]


def test_the_exempt_roles_are_configurable(app_config):

    app, client = _limited_app(app_config, WRITE_RATE_LIMIT_EXEMPT_ROLES=())
    venue = token_headers(app, "venue", "service")
    codes = [client.post("/v1/trades", json=trade(f"v{i}"), headers=venue).status_code for i in range(4)]
    assert codes == [202, 202, 202, 429]

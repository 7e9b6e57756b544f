from __future__ import annotations

from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from .helpers import assert_error, bearer


def test_register_login_me_refresh_logout_flow(client, auth):
    auth.register("alice", display_name="Alice A.")
    tokens = auth.login("alice")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0

    me = client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json == {"username": "alice", "display_name": "Alice A.", "role": "trader"}

    refreshed = client.post("/v1/token/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    new = refreshed.json
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/v1/me", headers=bearer(new["access_token"])).status_code == 200

    assert client.post("/v1/logout", headers=bearer(new["access_token"])).json == {"revoked": True, "all": False}
    assert_error(client.get("/v1/me", headers=bearer(new["access_token"])), 401, "token_revoked")
    # logout revoked the session's refresh token too, and the old one was rotated out (its reuse would end
    # the session: test_hardening.test_a_reused_refresh_token_ends_the_session_the_thiefs_newer_tokens_too)
    assert_error(client.post("/v1/token/refresh", headers=bearer(new["refresh_token"])), 401, "token_revoked")
    assert_error(client.post("/v1/token/refresh", headers=bearer(tokens["refresh_token"])), 401, "token_revoked")


def test_logout_in_one_worker_is_seen_by_another_within_the_bound(app_config, auth):
    from leaderboard import create_app

    other_worker = create_app({**app_config, "REVOCATION_CACHE_SECONDS": 0.01}).test_client()
    auth.register("bob")
    access = auth.login("bob")["access_token"]
    assert other_worker.get("/v1/me", headers=bearer(access)).status_code == 200
    auth.client.post("/v1/logout", headers=bearer(access))
    import time

    time.sleep(0.02)
    assert_error(other_worker.get("/v1/me", headers=bearer(access)), 401, "token_revoked")


def test_forged_signature_is_401(client, auth):
    auth.register("carol")
    access = auth.login("carol")["access_token"]
    claims = pyjwt.decode(access, options={"verify_signature": False})
    forged = pyjwt.encode({**claims, "role": "admin"}, "another-secret-another-secret-another-secret", "HS256")
    assert_error(client.get("/v1/me", headers=bearer(forged)), 401, "unauthorized")
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert_error(client.get("/v1/me", headers=bearer(tampered)), 401, "unauthorized")


def test_expired_token_is_401(app, client, auth):
    auth.register("dave")
    with app.app_context():
        expired = create_access_token("dave", additional_claims={"role": "trader", "sid": "s"},
                                      expires_delta=timedelta(seconds=-5))
    assert_error(client.get("/v1/me", headers=bearer(expired)), 401, "token_expired")


def test_refresh_token_used_as_access_is_401(client, auth):
    auth.register("erin")
    tokens = auth.login("erin")
    assert_error(client.get("/v1/me", headers=bearer(tokens["refresh_token"])), 401, "unauthorized")
    assert_error(client.post("/v1/token/refresh", headers=bearer(tokens["access_token"])), 401, "unauthorized")


def test_missing_and_malformed_header_is_401(client):
    assert_error(client.get("/v1/me"), 401, "unauthorized")
    assert_error(client.get("/v1/me", headers={"Authorization": "Token abc"}), 401, "unauthorized")
    assert_error(client.get("/v1/me", headers=bearer("not.a.jwt")), 401, "unauthorized")


def test_wrong_password_and_unknown_user_get_the_same_answer(client, auth):
    auth.register("frank")
    wrong = client.post("/v1/login", json={"username": "frank", "password": "wrong-password"})
    unknown = client.post("/v1/login", json={"username": "nobody", "password": "wrong-password"})
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json == unknown.json


def test_sixth_failed_login_within_the_window_is_429(client, auth):
    auth.register("grace")
    for _ in range(5):
        assert client.post("/v1/login", json={"username": "grace", "password": "bad-password"}).status_code == 401
    limited = client.post("/v1/login", json={"username": "grace", "password": "bad-password"})
    assert_error(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    # even the right password waits out the window: the limit is per username
    assert client.post("/v1/login", json={"username": "grace", "password": auth.password}).status_code == 429
    # another user from the same address is not locked out by grace's failures
    auth.register("heidi")
    assert client.post("/v1/login", json={"username": "heidi", "password": auth.password}).status_code == 200


def test_successful_logins_do_not_count_against_the_limit(client, auth):
    auth.register("ivan")
    for _ in range(7):
        assert client.post("/v1/login", json={"username": "ivan", "password": auth.password}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "long-enough-pw"}, "username"),
        ({"username": "bad name", "password": "long-enough-pw"}, "username"),
        ({"username": 42, "password": "long-enough-pw"}, "username"),
        ({"username": "judy", "password": "short"}, "password"),
        ({"username": "judy", "password": "x" * 300}, "password"),
        ({"username": "judy", "password": "long-enough-pw", "display_name": ""}, "display_name"),
        ({"username": "judy", "password": "long-enough-pw", "display_name": "x" * 65}, "display_name"),
    ],
)
def test_register_validation(client, redis_client, body, field):
    response = client.post("/v1/auth/register", json=body)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == field
    assert redis_client.keys("lb:user:*") == []


def test_register_rejects_unknown_fields_and_role_escalation(client, redis_client):
    response = client.post("/v1/auth/register", json={"username": "mallory", "password": "long-enough-pw",
                                                      "role": "admin"})
    assert_error(response, 422, "validation_error")
    assert redis_client.keys("lb:user:*") == []


def test_duplicate_username_is_409(client, auth):
    auth.register("kate")
    response = client.post("/v1/auth/register", json={"username": "kate", "password": "another-password"})
    assert_error(response, 409, "username_taken")
    auth.login("kate")  # the original password still works


def test_registration_can_be_turned_off(app_config):
    from leaderboard import create_app

    client = create_app({**app_config, "REGISTRATION_ENABLED": False}).test_client()
    response = client.post("/v1/auth/register", json={"username": "leo", "password": "long-enough-pw"})
    assert_error(response, 403, "registration_disabled")


def test_passwords_are_hashed_not_stored(client, auth, redis_client):
    auth.register("mike")
    raw = redis_client.get("lb:user:mike")
    assert auth.password.encode() not in raw
    assert b"$argon2id$" in raw


def test_cli_creates_service_and_admin_accounts(runner, client, monkeypatch, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("JWT_SECRET_KEY", "x" * 40)
    from leaderboard.cli import main

    result = runner.invoke(main, ["create-user", "--username", "venue1", "--role", "service",
                                  "--password", "service-password"])
    assert result.exit_code == 0, result.output
    tokens = client.post("/v1/login", json={"username": "venue1", "password": "service-password"}).json
    assert client.get("/v1/me", headers=bearer(tokens["access_token"])).json["role"] == "service"
    again = runner.invoke(main, ["create-user", "--username", "venue1", "--role", "service",
                                 "--password", "service-password"])
    assert again.exit_code != 0 and "already exists" in again.output

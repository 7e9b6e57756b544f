"""Issue 14, second hardening round: each test reproduces one attack or fault that held on the old main."""

from __future__ import annotations

from .conftest import bearer
from .test_auth import assert_error
from .write_helpers import token_headers, trade


# --- 1. the login limit reads the body exactly as the view does ---
def test_a_body_the_limiter_cannot_parse_still_counts_against_the_login_limit(client, auth):
    auth.register("victim")
    nested = "[" * 1000 + "]" * 1000  # json (stdlib) recurses out; orjson reads it
    body = '{"username": "victim", "password": ' + nested + ', "password": "wrong-password"}'
    codes = [client.post("/v1/login", data=body, content_type="application/json").status_code for _ in range(20)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    # the right password waits out the window too: the failures counted against "victim"
    assert client.post("/v1/login", json={"username": "victim", "password": auth.password}).status_code == 429


def test_unreadable_login_bodies_count_against_one_fixed_key(client):
    bodies = ['{"username": ' + "[" * 2000 + "]" * 2000 + "}", '{"username": 5, "password": "x"}']
    codes = [client.post("/v1/login", data=bodies[n % 2], content_type="application/json").status_code
             for n in range(12)]
    assert codes[0] == 400 and codes[1] == 422
    assert 429 in codes  # the 422s (failed attempts) counted against the fixed key and ran out


# --- 3. full-match every pattern; usernames compare case-insensitively ---
def test_identifiers_with_a_trailing_newline_are_refused(client, app, auth):
    auth.register("alice")
    response = client.post("/v1/auth/register", json={"username": "alice\n", "password": auth.password})
    assert_error(response, 422, "validation_error")
    service = token_headers(app, "venue", "service")
    for bad in (trade("t1\n"), trade("t1", "alice\n"), trade("t1", quantity="1.5\n"), trade("t1", price="2\n")):
        assert_error(client.post("/v1/trades", json=bad, headers=service), 422, "validation_error")
    assert_error(client.get("/v1/leaderboards/btc/members/alice%0A"), 400)
    assert_error(client.post("/v1/leaderboards", json={"id": "newboard\n"},
                             headers=token_headers(app, "root", "admin")), 422)


def test_usernames_are_unique_and_log_in_regardless_of_case(client, auth):
    auth.register("carol")
    assert_error(client.post("/v1/auth/register", json={"username": "Carol", "password": auth.password}),
                 409, "username_taken")
    tokens = auth.login("CAROL")
    assert client.get("/v1/me", headers=bearer(tokens["access_token"])).json["username"] == "carol"
    for _ in range(5):  # the login limit counts "Carol" and "carol" as one name too
        assert client.post("/v1/login", json={"username": "Carol", "password": "wrong-password"}).status_code == 401
    assert client.post("/v1/login", json={"username": "carol", "password": auth.password}).status_code == 429

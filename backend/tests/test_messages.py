"""Error messages a person can act on: what was limited and when to retry (429), the limit (413), a trade's
amount in its board's unit, why a day has no history, and where a guessed path really is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from .helpers import assert_error, token_headers, trade


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "MAX_CONTENT_LENGTH": 1024, "WRITE_RATE_LIMIT": "2 per minute"}


def message(response) -> str:
    return response.get_json()["error"]["message"]


def test_a_429_says_what_was_limited_the_limit_and_when_to_retry(client, auth):
    auth.register("grace")
    for _ in range(5):
        client.post("/v1/login", json={"username": "grace", "password": "bad-password"})
    limited = client.post("/v1/login", json={"username": "grace", "password": "bad-password"})
    assert_error(limited, 429, "rate_limited")
    said = re.fullmatch(r"Too many failed logins for this username: the limit is 5 per 1 minute\. "
                        r"Try again in (\d+) s \(Retry-After\)\.", message(limited))
    assert said and abs(int(said[1]) - int(limited.headers["Retry-After"])) <= 1, message(limited)

    alice = auth.headers()
    for i in range(2):
        assert client.post("/v1/trades", json=trade(f"t{i}", trader=alice_id(client, alice)),
                           headers=alice).status_code == 202
    refused = client.post("/v1/trades", json=trade("t2", trader=alice_id(client, alice)), headers=alice)
    assert_error(refused, 429, "rate_limited")
    assert message(refused).startswith("Too many writes by this account (trades and scores share it): the limit is "
                                       "2 per 1 minute. Try again in ")


def alice_id(client, headers) -> str:
    return client.get("/v1/me", headers=headers).get_json()["username"]


def test_a_413_names_the_limit(client):
    response = client.post("/v1/auth/register", json={"username": "big", "password": "x" * 5000})
    assert_error(response, 413, "payload_too_large")
    assert "larger than the limit of 1 KiB (1,024 bytes, MAX_CONTENT_LENGTH)" in message(response)


def test_an_oversized_trade_is_refused_in_the_boards_unit(client, app):
    service = token_headers(app, "venue", "service")
    refused = client.post("/v1/trades", json=trade("huge", quantity="999999999", price="999999999"), headers=service)
    assert_error(refused, 422, "validation_error")
    assert refused.get_json()["error"]["details"]["field"] == "notional"
    assert ("quantity x price = 999,999,998,000,000,001.00 USD is above the limit of 100,000,000,000.00 USD per "
            "trade (MAX_TRADE_NOTIONAL)") in message(refused)


def test_history_says_why_a_day_has_none(client):
    today = datetime.now(UTC).date()
    now = client.get(f"/v1/leaderboards/btc/history/{today}")
    assert_error(now, 404, "history_not_found")
    assert message(now) == (f"{today} is not over yet: history holds finished days; today's board is "
                            "GET /v1/leaderboards/btc?period=day.")
    quiet = client.get(f"/v1/leaderboards/btc/history/{today - timedelta(days=1)}")
    assert "nothing was recorded on it that day" in message(quiet)
    old = client.get(f"/v1/leaderboards/btc/history/{today - timedelta(days=400)}")
    assert "archives are kept 30 days" in message(old)


def test_a_guessed_login_path_points_to_the_real_one(client):
    guessed = client.post("/v1/auth/login", json={"username": "a", "password": "b"})
    assert_error(guessed, 404, "not_found")
    assert message(guessed) == "There is no /v1/auth/login: you want POST /v1/login."
    assert "you want" not in message(client.get("/v1/no-such-thing"))

"""Every validation rule of POST /v1/trades: the bad value gets a 4xx naming it, and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .helpers import assert_error, drain, token_headers, trade


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "MAX_BATCH": 5, "MAX_FUTURE_SKEW_SECONDS": 5}


@pytest.fixture()
def service(app):
    return token_headers(app, "venue", "service")


def _future(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


BAD_TRADES = [
    ("trade_id", {"trade_id": ""}),
    ("trade_id", {"trade_id": "x" * 65}),
    ("trade_id", {"trade_id": "has space"}),
    ("trade_id", {"trade_id": "emoji-\u2603"}),
    ("trade_id", {"trade_id": 12}),
    ("trader_id", {"trader_id": "a/b"}),
    ("trader_id", {"trader_id": None}),
    ("symbol", {"symbol": "DOGE"}),
    ("symbol", {"symbol": "btc"}),
    ("side", {"side": "hold"}),
    ("quantity", {"quantity": 0}),
    ("quantity", {"quantity": -1}),
    ("quantity", {"quantity": "-1"}),
    ("quantity", {"quantity": "NaN"}),
    ("quantity", {"quantity": "Infinity"}),
    ("quantity", {"quantity": "1e3"}),
    ("quantity", {"quantity": "1E-2"}),
    ("quantity", {"quantity": " 1"}),
    ("quantity", {"quantity": "0x10"}),
    ("quantity", {"quantity": True}),
    ("quantity", {"quantity": [1]}),
    ("quantity", {"quantity": "0.000000001"}),  # BTC: at most 8 decimals
    ("quantity", {"quantity": 1e-9}),
    ("quantity", {"quantity": 10**13}),
    ("quantity", {"quantity": 1e300}),
    ("price", {"price": "0.001"}),  # BTC: at most 2 decimals
    ("price", {"price": "12.345", "symbol": "ETH"}),
    ("price", {"price": "1.00001", "symbol": "SOL"}),  # SOL: at most 4
    ("price", {"price": 0.0}),
    ("price", {"price": "1" * 17}),
    ("notional", {"quantity": "999999999", "price": "999999999"}),
    ("ts", {"ts": "2026-01-01T00:00:00"}),  # no timezone
    ("ts", {"ts": "yesterday"}),
    ("ts", {"ts": 1700000000.5}),
    ("ts", {"ts": 1700000000}),  # seconds, not milliseconds
    ("ts", {"ts": "FUTURE"}),
    ("extra", {"extra": 1}),
]


@pytest.mark.parametrize(("field", "change"), BAD_TRADES, ids=[f"{f}:{c!r}"[:60] for f, c in BAD_TRADES])
def test_a_bad_field_is_422_naming_it_and_nothing_is_written(client, app, service, redis_client, app_config,
                                                              field, change):
    if change.get("ts") == "FUTURE":
        change = {"ts": _future(60)}
    body = {**trade("ok-1"), **change}
    response = client.post("/v1/trades", json=body, headers=service)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == field
    assert "index" not in response.json["error"]["details"]
    _assert_nothing_written(app, redis_client, app_config)


def test_a_missing_field_is_422(client, app, service, redis_client, app_config):
    for name in ("trade_id", "trader_id", "symbol", "side", "quantity", "price"):
        body = trade("m1")
        del body[name]
        response = client.post("/v1/trades", json=body, headers=service)
        assert_error(response, 422, "validation_error")
        assert response.json["error"]["details"] == {"field": name, "reason": "is required"}
    _assert_nothing_written(app, redis_client, app_config)


def test_a_batch_with_one_bad_trade_is_refused_whole_and_names_the_index(client, app, service, redis_client,
                                                                         app_config):
    batch = [trade("g1"), trade("g2"), {**trade("g3"), "side": "short"}, trade("g4")]
    response = client.post("/v1/trades", json={"trades": batch}, headers=service)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["index"] == 2
    assert response.json["error"]["details"]["field"] == "side"
    assert "trades[2].side" in response.json["error"]["message"]
    _assert_nothing_written(app, redis_client, app_config)


@pytest.mark.parametrize("body", [{"trades": []}, {"trades": {}}, {"trades": [trade(f"x{i}") for i in range(6)]},
                                  {"trades": [trade("a")], "more": 1}, ["not", "an", "object"], 42])
def test_bad_batch_shapes_are_422(client, app, service, redis_client, app_config, body):
    assert_error(client.post("/v1/trades", json=body, headers=service), 422, "validation_error")
    _assert_nothing_written(app, redis_client, app_config)


def test_non_json_and_malformed_bodies(client, service):
    assert_error(client.post("/v1/trades", data="x", content_type="text/plain", headers=service), 415,
                 "unsupported_media_type")
    assert_error(client.post("/v1/trades", data=b'{"trade_id": NaN}', content_type="application/json",
                             headers=service), 400, "bad_json")


@pytest.mark.parametrize(("quantity", "price", "symbol", "cents"), [
    ("0.1", "0.2", "ETH", 2),  # 0.02
    (0.1, 0.2, "ETH", 2),  # JSON numbers are read as the decimal they print as, not the binary float
    ("0.00000499", "1000", "BTC", 0),  # 0.00499 rounds to 0 cents: refused (MIN_TRADE_NOTIONAL), see below
    ("0.00000500", "1000", "BTC", 1),  # 0.005 rounds half-up to 1 cent
    ("3", "0.0050", "SOL", 2),  # 0.015 -> 0.02 half-up
    ("1.000000", "2", "USDC", 200),  # trailing zeros are not extra decimals
    ("1000", "99999999.99", "BTC", 9999999999000),
])
def test_notional_is_exact_decimal_rounded_half_up(client, app, service, redis_client, quantity, price, symbol, cents):
    body = trade("n1", "alice", symbol, quantity, price)
    if cents == 0:
        assert_error(client.post("/v1/trades", json=body, headers=service), 422, "validation_error")
        return
    assert client.post("/v1/trades", json=body, headers=service).status_code == 202
    drain(app)
    assert redis_client.zscore("lb:{all-volume}:all", "alice") == cents


def test_ts_accepts_iso_with_offset_and_epoch_millis(client, app, service, redis_client):
    now = datetime.now(UTC)
    bodies = [trade("z1", ts=(now - timedelta(minutes=5)).astimezone().isoformat()),
              trade("z2", ts=(now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")),
              trade("z3", ts=int(now.timestamp() * 1000)),
              trade("z4", ts=(now + timedelta(seconds=2)).isoformat())]  # within the allowed skew
    response = client.post("/v1/trades", json={"trades": bodies}, headers=service)
    assert response.status_code == 202, response.json


def _assert_nothing_written(app, redis_client, app_config) -> None:
    from leaderboard.api.write_path import current_ingest

    with app.app_context():
        assert current_ingest().buffer.pending == 0
    wal_dir = app_config["DATA_DIR"] / "wal"
    assert all(p.stat().st_size == 0 for p in wal_dir.glob("wal-*.log"))
    drain(app)
    assert [k for k in redis_client.keys("lb:{*}:*") if b":seen:" in k or b":all" in k] == []

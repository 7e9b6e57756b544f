"""POST /v1/trades through the real app, WAL and flusher into a real Redis."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from leaderboard import keys
from leaderboard.ranking.periods import day_bucket, hour_bucket

from .helpers import all_time_totals, assert_error, drain, oracle, token_headers, trade, zset


@pytest.fixture()
def service(app):
    return token_headers(app, "venue", "service")


def test_a_trade_lands_on_its_symbol_board_and_all_volume_in_every_bucket(client, app, service, redis_client):
    ts = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    response = client.post("/v1/trades", json=trade("t1", "alice", "BTC", "0.5", "64000.01", ts=ts.isoformat()),
                           headers=service)
    assert response.status_code == 202, response.json
    assert response.json == {"accepted": 1}
    drain(app)
    cents = 3_200_001  # 0.5 x 64000.01 = 32000.005 USD, rounded half-up to 32000.01
    for board in ("btc", "all-volume"):
        assert zset(redis_client, keys.all_time(board)) == {"alice": cents}
        assert zset(redis_client, keys.day(board, day_bucket(ts))) == {"alice": cents}
        assert zset(redis_client, keys.hour(board, hour_bucket(ts))) == {"alice": cents}
    assert zset(redis_client, keys.all_time("eth")) == {}


def test_buckets_past_their_reach_are_not_written_but_all_time_is(client, app, service, redis_client):
    long_ago = datetime.now(UTC) - timedelta(days=90)
    assert client.post("/v1/trades", json=trade("old", ts=long_ago.isoformat()), headers=service).status_code == 202
    drain(app)
    assert zset(redis_client, keys.all_time("btc")) == oracle([trade("old")])["btc"]
    assert redis_client.keys(keys.day("btc", day_bucket(long_ago))) == []
    assert redis_client.keys(keys.hour("btc", hour_bucket(long_ago))) == []


def test_a_batch_is_summed_per_trader_and_board(client, app, service, redis_client):
    trades = [trade(f"b{i}", f"trader{i % 3}", ["BTC", "ETH", "SOL"][i % 3], "2", "10.5") for i in range(30)]
    response = client.post("/v1/trades", json={"trades": trades}, headers=service)
    assert response.status_code == 202 and response.json == {"accepted": 30}
    drain(app)
    assert all_time_totals(redis_client) == oracle(trades)


def test_duplicate_trade_ids_count_once_in_a_batch_across_batches_and_retries(client, app, service, redis_client):
    first = [trade("d1", quantity="1", price="10"), trade("d1", quantity="1", price="10"), trade("d2")]
    assert client.post("/v1/trades", json={"trades": first}, headers=service).status_code == 202
    drain(app)
    again = [trade("d2"), trade("d3")]
    assert client.post("/v1/trades", json={"trades": again}, headers=service).status_code == 202
    assert client.post("/v1/trades", json=trade("d1", quantity="1", price="10"), headers=service).status_code == 202
    drain(app)
    assert all_time_totals(redis_client) == oracle(first + again)


def test_trade_time_decides_the_bucket_not_the_flush_time(client, app, service, redis_client):
    yesterday = datetime.now(UTC) - timedelta(days=1)
    ts_ms = int(yesterday.timestamp() * 1000)
    assert client.post("/v1/trades", json=trade("old", ts=ts_ms), headers=service).status_code == 202
    drain(app)
    cents = oracle([trade("old")])["btc"]["alice"]
    assert zset(redis_client, keys.day("btc", day_bucket(yesterday))) == {"alice": cents}
    assert zset(redis_client, keys.day("btc", day_bucket(datetime.now(UTC)))) == {}
    ttl = redis_client.ttl(keys.hour("btc", hour_bucket(yesterday)))
    assert 0 < ttl <= (7 * 24 + 1) * 3600


def test_a_trader_posts_its_own_trades_but_not_someone_elses(client, app, auth, redis_client):
    alice = auth.register("alice")
    headers = auth.headers(alice)
    assert client.post("/v1/trades", json=trade("own", "alice"), headers=headers).status_code == 202
    response = client.post("/v1/trades", json={"trades": [trade("x1", "alice"), trade("x2", "bob")]}, headers=headers)
    assert_error(response, 403, "forbidden")
    assert response.json["error"]["details"] == {"field": "trader_id", "index": 1}
    drain(app)
    assert all_time_totals(redis_client) == oracle([trade("own", "alice")])


def test_trades_need_a_token(client):
    assert_error(client.post("/v1/trades", json=trade("t")), 401, "unauthorized")


def test_the_request_path_does_not_wait_for_redis(client, app, service, app_config):
    """The 202 comes from the WAL; the flusher applies later (BUFFER_MAX_AGE_MS)."""
    started = time.monotonic()
    assert client.post("/v1/trades", json=trade("fast"), headers=service).status_code == 202
    assert time.monotonic() - started < 1.0
    wal_dir = app_config["DATA_DIR"] / "wal"
    assert any(b'"t:alice/fast"' in p.read_bytes() for p in wal_dir.glob("wal-*.log"))

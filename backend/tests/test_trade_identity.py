"""A trade's identity is (trader, trade_id): no squatting of another trader's ids, 409 for a reused id with
other content, an exact retry stays a 202 that counts once; a Redis stall makes the claim fall back to the
flush-time check (issue 14, item 2)."""

from __future__ import annotations

import threading
import time

import pytest

from leaderboard import keys, metrics
from leaderboard.ingest.writes import trade_write_id

from .helpers import all_time_totals, assert_error, drain, metric_value, token_headers, trade


@pytest.fixture()
def venue(app):
    return token_headers(app, "venue", "service")


def test_a_trader_cannot_squat_the_trade_ids_a_venue_will_use(client, app, venue, redis_client):
    mallory = token_headers(app, "mallory", "trader")
    squat = [trade(f"venue-alice-{n:06d}", "mallory", quantity="0.0001", price="100") for n in range(1, 4)]
    assert client.post("/v1/trades", json={"trades": squat}, headers=mallory).status_code == 202
    drain(app)
    real = [trade(f"venue-alice-{n:06d}", "alice", quantity="2", price="100") for n in range(1, 4)]
    assert client.post("/v1/trades", json={"trades": real}, headers=venue).status_code == 202
    drain(app)
    assert all_time_totals(redis_client)["all-volume"]["alice"] == 3 * 20_000
    assert redis_client.exists(keys.seen("all-volume", trade_write_id("alice", "venue-alice-000001")))


def test_a_reused_trade_id_with_other_content_is_409_and_an_exact_retry_counts_once(client, app, venue, redis_client):
    first = trade("r-1", "alice", "BTC", "1.50", "100", ts="2026-01-02T03:04:05Z")
    assert client.post("/v1/trades", json=first, headers=venue).status_code == 202
    same = {**first, "quantity": 1.5, "ts": "2026-01-02T03:04:05+00:00"}  # the same trade, written otherwise
    assert client.post("/v1/trades", json=same, headers=venue).status_code == 202  # before the flush: a claim
    assert_error(client.post("/v1/trades", json={**first, "price": "101"}, headers=venue), 409, "trade_id_conflict")
    drain(app)
    assert client.post("/v1/trades", json=first, headers=venue).status_code == 202  # after it: the marker
    other_symbol = client.post("/v1/trades", json={"trades": [trade("r-2"), {**first, "symbol": "ETH"}]},
                               headers=venue)
    assert_error(other_symbol, 409, "trade_id_conflict")
    assert other_symbol.json["error"]["details"] == {"field": "trade_id", "index": 1}
    twice = client.post("/v1/trades", json={"trades": [trade("r-3"), trade("r-3", price="7")]}, headers=venue)
    assert_error(twice, 409, "trade_id_conflict")
    # bob may use the same trade_id: ids are per trader
    assert client.post("/v1/trades", json={**first, "trader_id": "bob", "price": "3"}, headers=venue).status_code == 202
    drain(app)
    assert all_time_totals(redis_client) == {"btc": {"alice": 15_000, "bob": 450},
                                             "all-volume": {"alice": 15_000, "bob": 450}}
    assert not redis_client.exists(keys.seen("all-volume", trade_write_id("alice", "r-2")))  # batch refused whole


def test_without_a_timely_claim_the_conflict_is_found_at_flush_and_counts_nowhere(client, app, venue, redis_client):
    """A Redis stall longer than REQUEST_REDIS_TIMEOUT_MS: the request is not held up (202 without the claim,
    counted as skipped), and the flush finds the conflict: the first content stays, the other counts nowhere."""
    first = client.post("/v1/trades", json=trade("s-1", "alice", quantity="1", price="10"), headers=venue)
    assert first.status_code == 202
    drain(app)
    before = metrics.exposition().decode()
    pause = threading.Thread(target=redis_client.execute_command, args=("CLIENT", "PAUSE", "1500"))
    pause.start()
    time.sleep(0.1)
    started = time.monotonic()
    conflicting = client.post("/v1/trades", json=trade("s-1", "alice", "ETH", "5", "10"), headers=venue)
    waited = time.monotonic() - started
    fresh = client.post("/v1/trades", json=trade("s-2", "alice", quantity="1", price="1"), headers=venue)
    pause.join()
    assert conflicting.status_code == 202 and fresh.status_code == 202
    assert waited < 1.0  # bounded by REQUEST_REDIS_TIMEOUT_MS (100 ms), not the 1.5 s stall
    drain(app)
    after = metrics.exposition().decode()
    assert metric_value(after, "leaderboard_trades_conflict_total", stage="flush") - \
        metric_value(before, "leaderboard_trades_conflict_total", stage="flush") == 1
    assert metric_value(after, "leaderboard_trade_claims_skipped_total", reason="TimeoutError") + \
        metric_value(after, "leaderboard_trade_claims_skipped_total", reason="backing_off") >= 2
    assert all_time_totals(redis_client) == {"btc": {"alice": 1_000 + 100}, "all-volume": {"alice": 1_100}}

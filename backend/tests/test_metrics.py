"""/metrics: request counters and latency buckets per route, the domain metrics declared, token enforced."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from leaderboard import create_app, metrics

from .helpers import NOON, ManualClock, drain, metric_value, token_headers, trade

SCRAPE_TOKEN = "scrape-token-0123456789"
SCRAPE = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}


@pytest.fixture()
def app_config(app_config):
    """Outside dev mode /metrics needs METRICS_TOKEN (test_metrics_are_closed_outside_dev_mode_without_a_token)."""
    return {**app_config, "METRICS_TOKEN": SCRAPE_TOKEN}


def test_requests_are_counted_per_route_rule_and_status(client):
    before = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    for _ in range(3):
        assert client.get("/health").status_code == 200
    client.get("/v1/no-such-thing")
    client.get("/v1/also-missing")
    client.post("/v1/login", json={"username": "nobody", "password": "wrong-password"})
    after = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("leaderboard_http_requests_total", route="/health", method="GET", status="200") == 3
    assert delta("leaderboard_http_requests_total", route="/v1/login", method="POST", status="401") == 1
    # raw unknown paths never become label values: they share one
    assert delta("leaderboard_http_requests_total", route="<unmatched>", method="GET", status="404") == 2
    assert "no-such-thing" not in after
    assert delta("leaderboard_http_request_duration_seconds_count", route="/health", method="GET") == 3
    assert delta("leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET", le="+Inf") == 3
    assert delta("leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET", le="10.0") == 3


def test_the_domain_metrics_are_declared_with_help(client):
    text = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    expected = {
        "leaderboard_trades_accepted": "counter",
        "leaderboard_trades_rejected": "counter",
        "leaderboard_trades_duplicate": "counter",
        "leaderboard_buffer_depth": "gauge",
        "leaderboard_wal_bytes": "gauge",
        "leaderboard_wal_segments": "gauge",
        "leaderboard_flush_batch_size": "histogram",
        "leaderboard_flush_duration_seconds": "histogram",
        "leaderboard_flush_failures": "counter",
        "leaderboard_redis_errors": "counter",
        "leaderboard_snapshot_age_seconds": "gauge",
        "leaderboard_job_runs": "counter",
        "leaderboard_job_duration_seconds": "histogram",
    }
    for name, kind in expected.items():
        assert name in families, f"{name} missing from /metrics"
        assert families[name].type == kind
        assert families[name].documentation


def test_recorded_domain_samples_show_up(client):
    before = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    metrics.TRADES_ACCEPTED.labels("http").inc(7)
    metrics.FLUSH_BATCH_SIZE.observe(7)
    metrics.JOB_RUNS.labels("refresh_snapshots", "ok").inc()
    after = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    assert metric_value(after, "leaderboard_trades_accepted_total", source="http") - metric_value(
        before, "leaderboard_trades_accepted_total", source="http") == 7
    assert metric_value(after, "leaderboard_flush_batch_size_count") - metric_value(
        before, "leaderboard_flush_batch_size_count") == 1
    assert metric_value(after, "leaderboard_job_runs_total", job="refresh_snapshots", outcome="ok") >= 1


def test_metrics_are_closed_outside_dev_mode_without_a_token(app_config):
    closed = create_app({**app_config, "METRICS_TOKEN": ""}).test_client()
    response = closed.get("/metrics")
    assert response.status_code == 403 and response.json["error"]["code"] == "metrics_token_required"
    assert b"leaderboard_" not in response.data
    dev = create_app({**app_config, "METRICS_TOKEN": "", "DEV_MODE": True}).test_client()
    assert dev.get("/metrics").status_code == 200  # make run: dev mode, loopback


def test_metrics_token_is_enforced_when_set(app_config):
    client = create_app(app_config).test_client()
    denied = client.get("/metrics")
    assert denied.status_code == 401
    assert denied.json["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert allowed.status_code == 200
    assert allowed.headers["Content-Type"].startswith("text/plain")
    assert "leaderboard_http_requests_total" in allowed.get_data(as_text=True)


def _scrape(client) -> str:
    return client.get("/metrics", headers=SCRAPE).get_data(as_text=True)


def test_writes_are_counted_accepted_rejected_and_duplicate_and_flushes_observed(client, app):

    service, alice = token_headers(app, "venue", "service"), token_headers(app, "alice", "trader")
    before = _scrape(client)
    posted = [
        client.post("/v1/trades", json=trade("m1"), headers=service),
        client.post("/v1/trades", json={"trades": [trade("m2"), trade("m3"), trade("m1")]}, headers=service),  # m1 2x
        client.post("/v1/trades", json={"trades": [trade("m2"), trade("m2")]}, headers=service),  # twice more
        client.post("/v1/trades", json=trade("bad1", quantity="-1"), headers=service),
        client.post("/v1/trades", json={"trades": [trade("bad2"), trade("bad3", symbol="DOGE"), trade("bad4")]},
                    headers=service),  # refused whole: 3 writes
        client.post("/v1/trades", json=trade("m4", trader="bob"), headers=alice),  # not hers
        client.post("/v1/trades", data="{", headers={**service, "Content-Type": "application/json"}),
    ]
    assert [r.status_code for r in posted] == [202, 202, 202, 422, 422, 403, 400]
    action = client.post("/v1/actions", json={}, headers=alice).json["action_id"]
    score = {"user_id": "alice", "score": 10, "action_id": action}
    assert client.post("/v1/scores", json=score, headers=alice).status_code == 202
    assert client.post("/v1/scores", json={**score, "score": 11}, headers=alice).status_code == 409  # one action
    drain(app)
    after = _scrape(client)

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("leaderboard_trades_accepted_total", source="http") == 1 + 3 + 2 + 1  # 6 trades + 1 score
    # found already applied when flushed: m1 once, m2 twice; the reused action is a conflict
    assert delta("leaderboard_trades_duplicate_total", source="http") == 3
    assert delta("leaderboard_trades_conflict_total", stage="request") == 1
    assert delta("leaderboard_trades_rejected_total", reason="validation_error") == 1 + 3
    assert delta("leaderboard_trades_rejected_total", reason="forbidden") == 1
    assert delta("leaderboard_trades_rejected_total", reason="bad_json") == 1
    flushes = delta("leaderboard_flush_batch_size_count")
    assert flushes >= 1
    assert delta("leaderboard_flush_batch_size_sum") == 7  # every accepted write went through one flush
    assert delta("leaderboard_flush_duration_seconds_count") == flushes
    assert delta("leaderboard_flush_duration_seconds_bucket", le="+Inf") == flushes
    assert metric_value(after, "leaderboard_buffer_depth") == 0  # drained
    assert metric_value(after, "leaderboard_wal_segments") >= 1  # the active segment


def test_a_failed_flush_is_counted_with_its_reason_and_as_a_redis_error():
    import redis

    from leaderboard.embedded_redis import free_port
    from leaderboard.ingest.buffer import Pending, WriteBuffer
    from leaderboard.ingest.flusher import Applier, Flusher
    from leaderboard.ingest.writes import Increment, Write

    before = metrics.exposition().decode()
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    applier = Applier(unreachable, chunk_writes=10, marker_ttl=60, history_days=2)
    buffer = WriteBuffer(max_pending=10, retry_after=1)
    flusher = Flusher(buffer, applier, max_writes=10, max_age_ms=10, retry_max_s=1, on_applied=lambda _batch: None)
    write = Write("t:x", "alice", 1_800_000_000_000, (Increment("btc", "sum", 5),))
    buffer.add([Pending(write, None, time.monotonic())], reserved=False)
    assert flusher.flush_once() is False  # the write is back in the buffer
    assert buffer.queued() == 1 and flusher.state == "degraded"
    unreachable.close()
    after = metrics.exposition().decode()
    assert metric_value(after, "leaderboard_flush_failures_total", reason="ConnectionError") - metric_value(
        before, "leaderboard_flush_failures_total", reason="ConnectionError") == 1
    assert metric_value(after, "leaderboard_redis_errors_total", operation="flush") - metric_value(
        before, "leaderboard_redis_errors_total", operation="flush") == 1


def test_the_age_of_the_served_snapshot_is_recorded_per_board_and_period(app_config, redis_client):

    clock = ManualClock(NOON)
    client = create_app({**app_config, "CLOCK": clock}).test_client()
    assert client.get("/v1/leaderboards/btc?period=all").status_code == 200  # built live now: age 0
    assert metric_value(_scrape(client), "leaderboard_snapshot_age_seconds", board="btc", period="all") == 0
    clock.advance(seconds=25)
    assert client.get("/v1/leaderboards/btc?period=all").status_code == 200  # the same snapshot, 25 s later
    assert metric_value(_scrape(client), "leaderboard_snapshot_age_seconds", board="btc", period="all") == 25

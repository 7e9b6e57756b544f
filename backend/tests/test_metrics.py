"""/metrics: request counters and latency buckets per route, the domain metrics declared, token enforced."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from leaderboard import create_app, metrics


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_per_route_rule_and_status(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        assert client.get("/health").status_code == 200
    client.get("/v1/no-such-thing")
    client.get("/v1/also-missing")
    client.post("/v1/login", json={"username": "nobody", "password": "wrong-password"})
    after = client.get("/metrics").get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leaderboard_http_requests_total", route="/health", method="GET", status="200") == 3
    assert delta("leaderboard_http_requests_total", route="/v1/login", method="POST", status="401") == 1
    # raw unknown paths never become label values: they share one
    assert delta("leaderboard_http_requests_total", route="<unmatched>", method="GET", status="404") == 2
    assert "no-such-thing" not in after
    assert delta("leaderboard_http_request_duration_seconds_count", route="/health", method="GET") == 3
    assert delta("leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET", le="+Inf") == 3
    assert delta("leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET", le="10.0") == 3


def test_the_domain_metrics_are_declared_with_help(client):
    text = client.get("/metrics").get_data(as_text=True)
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
    before = client.get("/metrics").get_data(as_text=True)
    metrics.TRADES_ACCEPTED.labels("http").inc(7)
    metrics.FLUSH_BATCH_SIZE.observe(7)
    metrics.JOB_RUNS.labels("refresh_snapshots", "ok").inc()
    after = client.get("/metrics").get_data(as_text=True)
    assert value(after, "leaderboard_trades_accepted_total", source="http") - value(
        before, "leaderboard_trades_accepted_total", source="http") == 7
    assert value(after, "leaderboard_flush_batch_size_count") - value(before, "leaderboard_flush_batch_size_count") == 1
    assert value(after, "leaderboard_job_runs_total", job="refresh_snapshots", outcome="ok") >= 1


def test_metrics_token_is_enforced_when_set(app_config):
    client = create_app({**app_config, "METRICS_TOKEN": "scrape-token-0123456789"}).test_client()
    denied = client.get("/metrics")
    assert denied.status_code == 401
    assert denied.json["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert allowed.status_code == 200
    assert allowed.headers["Content-Type"].startswith("text/plain")
    assert "leaderboard_http_requests_total" in allowed.get_data(as_text=True)

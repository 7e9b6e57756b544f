"""Operations through a real server (`leaderboard serve`, 2 workers, granian and gunicorn): /metrics summed
across workers, the metrics token, JSON logs (the server's own and one access line per request), headers on
the wire."""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .helpers import TEST_SECRET, all_time_totals, metric_value, oracle, serve, start_scheduler, trade

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]
# the line each server logs when it starts a worker: (logger prefix, message)
WORKER_START_LINE = {"granian": ("_granian", "Spawning worker"), "gunicorn": ("gunicorn", "Booting worker")}

METRICS_TOKEN = "scrape-token-for-the-test-0123456789"


@pytest.fixture()
def service(tmp_path):
    with serve(tmp_path, METRICS_TOKEN=METRICS_TOKEN) as served:
        yield served.base, served.data_dir, served.log_path


def scrape(base: str) -> str:
    response = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
    assert response.status_code == 200
    return response.text


def worker_pids_with_counters(data_dir: Path) -> set[str]:
    return {m.group(1) for p in (data_dir / "prometheus").glob("counter_*.db")
            if (m := re.match(r"counter_(\d+)\.db", p.name))}


def test_metrics_are_summed_across_workers_and_the_token_is_enforced(service):
    base, data_dir, _log = service
    assert requests.get(f"{base}/metrics", timeout=5).status_code == 401

    def hit(_: int) -> int:
        # a fresh connection per request, so the kernel spreads them over both workers
        return requests.get(f"{base}/health", headers={"Connection": "close"}, timeout=5).status_code

    sent = 0
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(8) as pool:
        while len(worker_pids_with_counters(data_dir)) < 2 or sent < 100:
            assert time.monotonic() < deadline, "requests never reached both workers"
            assert set(pool.map(hit, range(50))) == {200}
            sent += 50
    assert len(worker_pids_with_counters(data_dir)) >= 2
    text = scrape(base)
    assert metric_value(text, "leaderboard_http_requests_total", route="/health", method="GET", status="200") == sent
    assert metric_value(text, "leaderboard_http_request_duration_seconds_count", route="/health", method="GET") == sent
    assert metric_value(text, "leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET",
                 le="+Inf") == sent
    assert metric_value(text, "leaderboard_http_requests_total", route="/metrics", method="GET", status="401") == 1
    # a second scrape (maybe from the other worker) sees the same sum
    assert metric_value(scrape(base), "leaderboard_http_requests_total", route="/health", method="GET",
                        status="200") == sent


def test_logs_are_json_lines_with_one_access_line_per_request_and_no_secrets(service, web_server):
    base, _data_dir, log_path = service
    password = "a-very-secret-password-42"
    registered = requests.post(f"{base}/v1/auth/register", json={"username": "loggy", "password": password})
    assert registered.status_code == 201
    request_id = f"req-{uuid.uuid4().hex}"
    login = requests.post(f"{base}/v1/login", json={"username": "loggy", "password": password},
                          headers={"X-Request-ID": request_id}, timeout=5)
    assert login.status_code == 200
    assert login.headers["X-Request-ID"] == request_id
    token = login.json()["access_token"]
    assert requests.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200

    deadline = time.monotonic() + 5
    while request_id not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log_path.read_text()
    assert password not in text and token not in text and token.split(".")[2] not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    logger, message = WORKER_START_LINE[web_server]
    assert any(line["logger"].startswith(logger) and message in line["msg"] for line in lines)
    access = [line for line in lines if line.get("event") == "http_request" and line["request_id"] == request_id]
    assert len(access) == 1
    assert access[0]["method"] == "POST" and access[0]["route"] == "/v1/login" and access[0]["status"] == 200
    assert access[0]["latency_ms"] > 0 and access[0]["level"] == "info"


def test_every_worker_freezes_its_start_up_heap_and_takes_the_configured_switch_interval(tmp_path):
    """bench/PROFILE.md ("The single POST's tail"): a full collection under load walked the whole start-up heap
    (60-180 ms with the GIL held); each worker freezes it once its app is built, and sets WEB_SWITCH_INTERVAL_MS."""
    with serve(tmp_path, WEB_SWITCH_INTERVAL_MS="2.5") as served:
        deadline = time.monotonic() + 10
        while True:
            lines = [json.loads(line) for line in served.log_path.read_text().splitlines() if line.strip()]
            settled = [line for line in lines if line.get("event") == "worker_settled"]
            if len(settled) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert len({line["pid"] for line in settled}) == 2, settled
    assert all(line["gc_frozen"] > 10_000 and line["switch_interval_ms"] == 2.5 for line in settled), settled


def test_responses_carry_security_headers_and_no_server_version(service):
    base, _data_dir, _log = service
    for path in ("/health", "/v1/me", "/", "/apidocs/"):
        response = requests.get(base + path, timeout=5)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"]
        assert not re.search(r"\d", response.headers.get("Server", "")), response.headers.get("Server")


def test_an_overlong_request_line_is_refused_and_the_service_goes_on(service):
    base, _data_dir, _log = service
    response = requests.get(f"{base}/health", params={"q": "x" * 5000}, timeout=5)
    assert response.status_code == 414  # MAX_REQUEST_LINE (gunicorn's limit_request_line, the app under granian)
    assert requests.get(f"{base}/health", params={"q": "x" * 4000}, timeout=5).status_code == 200
    assert requests.get(f"{base}/health", timeout=5).status_code == 200


def _samples_present(text: str, name: str) -> bool:
    return any(line.startswith(name) for line in text.splitlines())


def _post(base: str, headers: dict[str, str], body: object) -> int:
    # a fresh connection per request, so both workers take writes
    response = requests.post(f"{base}/v1/trades", json=body, headers={**headers, "Connection": "close"}, timeout=10)
    return response.status_code


def test_a_small_load_through_the_server_shows_in_the_domain_metrics_and_the_scheduler_serves_its_own(
    tmp_path, redis_url, redis_client
):
    from leaderboard.auth.users import UserStore
    from leaderboard.embedded_redis import free_port


    UserStore(redis_client).create("venue", "venue-password-123", "Venue", "service")
    with serve(tmp_path, REDIS_URL=redis_url, JWT_SECRET_KEY=TEST_SECRET, DEV_MODE="0",
               METRICS_TOKEN=METRICS_TOKEN, BUFFER_MAX_AGE_MS="50") as served:
        base = served.base

        def login(username: str, password: str) -> dict[str, str]:
            response = requests.post(f"{base}/v1/login", json={"username": username, "password": password}, timeout=10)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        venue = login("venue", "venue-password-123")
        assert requests.post(f"{base}/v1/auth/register", json={"username": "alice", "password": "alice-password-1"},
                             timeout=10).status_code == 201
        alice = login("alice", "alice-password-1")
        singles = [trade(f"s{i}", f"trader{i % 7}", ["BTC", "ETH", "SOL", "USDC", "ARB"][i % 5]) for i in range(40)]
        batches = [[trade(f"b{b}-{j}", f"trader{j % 5}", "ETH", "0.5", "2000") for j in range(10)] for b in range(10)]
        retries = singles[:10]  # a client retrying: accepted again, counted once
        invalid = [trade(f"bad{i}", quantity="-1") for i in range(5)]
        own = [trade(f"a{i}", "alice") for i in range(3)]
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(lambda body: _post(base, venue, body), [*singles, *({"trades": b} for b in batches)]))
            second = list(pool.map(lambda body: _post(base, venue, body), [*retries, *invalid]))
            third = list(pool.map(lambda body: _post(base, alice, body), [*own, trade("x", "bob")]))
        assert set(first) == {202} and second == [202] * 10 + [422] * 5 and third == [202] * 3 + [403]
        accepted = [*singles, *(t for b in batches for t in b), *retries, *own]
        posts = len(first) + len(second) + len(third)

        deadline = time.monotonic() + 20
        while True:  # until both workers flushed everything (a duplicate is seen when its copy is flushed)
            text = scrape(base)
            flushed = metric_value(text, "leaderboard_flush_batch_size_sum")
            if flushed == len(accepted) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert flushed == len(accepted)
        assert all_time_totals(redis_client) == oracle(accepted)
        assert metric_value(text, "leaderboard_trades_accepted_total", source="http") == len(accepted)
        assert metric_value(text, "leaderboard_trades_duplicate_total", source="http") == len(retries)
        assert metric_value(text, "leaderboard_trades_rejected_total", reason="validation_error") == len(invalid)
        assert metric_value(text, "leaderboard_trades_rejected_total", reason="forbidden") == 1
        flushes = metric_value(text, "leaderboard_flush_duration_seconds_count")
        assert flushes >= 1 and metric_value(text, "leaderboard_flush_batch_size_count") == flushes
        assert metric_value(text, "leaderboard_flush_duration_seconds_bucket", le="+Inf") == flushes
        assert metric_value(text, "leaderboard_flush_duration_seconds_bucket", le="1.0") >= 1
        assert metric_value(text, "leaderboard_flush_batch_size_bucket", le="+Inf") == flushes
        assert _samples_present(text, "leaderboard_buffer_depth ")
        assert metric_value(text, "leaderboard_buffer_depth") == 0
        assert metric_value(text, "leaderboard_wal_segments") >= 1 and metric_value(text, "leaderboard_wal_bytes") > 0
        assert metric_value(text, "leaderboard_http_request_duration_seconds_count", route="/v1/trades",
                     method="POST") == posts
        assert metric_value(text, "leaderboard_http_request_duration_seconds_bucket", route="/v1/trades", method="POST",
                     le="+Inf") == posts
        assert metric_value(text, "leaderboard_http_requests_total", route="/v1/trades", method="POST",
                            status="202") == len(first) + 10 + 3

        # the scheduler process serves its own /metrics (METRICS_BIND), with the same token
        port = free_port()
        scheduler = start_scheduler(redis_url, tmp_path / "scheduler", METRICS_BIND=f"127.0.0.1:{port}",
                                    METRICS_TOKEN=METRICS_TOKEN)
        try:
            deadline, job_text = time.monotonic() + 20, ""
            while time.monotonic() < deadline:
                try:
                    reply = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2,
                                         headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
                    job_text = reply.text
                    if metric_value(job_text, "leaderboard_job_runs_total", job="refresh_snapshots", outcome="ok") >= 2:
                        break
                except requests.ConnectionError:  # not listening yet
                    pass
                time.sleep(0.2)
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 401
        finally:
            scheduler.send_signal(signal.SIGTERM)
            assert scheduler.wait(timeout=30) == 0
        assert metric_value(job_text, "leaderboard_job_runs_total", job="refresh_snapshots", outcome="ok") >= 2
        assert metric_value(job_text, "leaderboard_job_runs_total", job="rollover", outcome="ok") == 1
        assert metric_value(job_text, "leaderboard_job_duration_seconds_count", job="refresh_snapshots") >= 2
        assert metric_value(job_text, "leaderboard_job_duration_seconds_bucket", job="refresh_snapshots",
                            le="+Inf") >= 2

        # a list served from the scheduler's snapshot: its age per board and period
        listed = requests.get(f"{base}/v1/leaderboards/all-volume?period=all", timeout=5)
        assert listed.status_code == 200 and listed.json()["total"] == 8  # trader0-6 and alice
        age = metric_value(scrape(base), "leaderboard_snapshot_age_seconds", board="all-volume", period="all")
        assert _samples_present(scrape(base), 'leaderboard_snapshot_age_seconds{board="all-volume",period="all"}')
        assert 0 <= age < 10

"""Operations through real gunicorn (`leaderboard serve`, 2 workers): /metrics summed across workers,
the metrics token, JSON logs (gunicorn's own and one access line per request), headers on the wire."""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .serving import serve
from .test_metrics import value

pytestmark = pytest.mark.slow

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


def test_metrics_are_summed_across_gunicorn_workers_and_the_token_is_enforced(service):
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
    assert value(text, "leaderboard_http_requests_total", route="/health", method="GET", status="200") == sent
    assert value(text, "leaderboard_http_request_duration_seconds_count", route="/health", method="GET") == sent
    assert value(text, "leaderboard_http_request_duration_seconds_bucket", route="/health", method="GET",
                 le="+Inf") == sent
    assert value(text, "leaderboard_http_requests_total", route="/metrics", method="GET", status="401") == 1
    # a second scrape (maybe from the other worker) sees the same sum
    assert value(scrape(base), "leaderboard_http_requests_total", route="/health", method="GET", status="200") == sent


def test_logs_are_json_lines_with_one_access_line_per_request_and_no_secrets(service):
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
    assert any(line["logger"].startswith("gunicorn") and "Booting worker" in line["msg"] for line in lines)
    access = [line for line in lines if line.get("event") == "http_request" and line["request_id"] == request_id]
    assert len(access) == 1
    assert access[0]["method"] == "POST" and access[0]["route"] == "/v1/login" and access[0]["status"] == 200
    assert access[0]["latency_ms"] > 0 and access[0]["level"] == "info"


def test_responses_carry_security_headers_and_no_server_version(service):
    base, _data_dir, _log = service
    for path in ("/health", "/v1/me", "/", "/apidocs/"):
        response = requests.get(base + path, timeout=5)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"]
        assert not re.search(r"\d", response.headers.get("Server", "")), response.headers.get("Server")


def test_an_overlong_request_line_is_refused_by_gunicorn_and_the_service_goes_on(service):
    base, _data_dir, _log = service
    response = requests.get(f"{base}/health", params={"q": "x" * 5000}, timeout=5)
    assert response.status_code == 414  # gunicorn's limit_request_line, before the app (not fuzzed for this)
    assert requests.get(f"{base}/health", timeout=5).status_code == 200

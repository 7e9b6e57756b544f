"""Finalization and the result webhook with real processes: two `leaderboard scheduler`s, a local HTTP receiver
that fails twice before it acknowledges, and the frozen result afterwards."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leaderboard import keys
from leaderboard.competitions.finalize import finalize_due
from leaderboard.competitions.service import CompetitionRegistry

from .helpers import (
    STARTED_EARLIER,
    TEST_SECRET,
    assert_error,
    competition_body,
    competition_rows,
    create_competition,
    post_trades,
    token_headers,
    window,
)

SECRET = "webhook-secret-0123456789-abcdefghijklmnop"


@pytest.fixture()
def app_config(app_config):
    # the local receiver is http on 127.0.0.1: allowed in dev mode and with WEBHOOK_ALLOW_PRIVATE only
    return {**app_config, "WEBHOOK_SECRET": SECRET, "FINALIZE_GRACE_SECONDS": 1, "DEV_MODE": True,
            "WEBHOOK_ALLOW_PRIVATE": True, **STARTED_EARLIER}


class Receiver:
    """A local webhook endpoint answering 500 `failures` times, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[float, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((time.monotonic(), dict(self.headers), body))
                status = 500 if len(receiver.requests) <= receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/results"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _valid_signature(headers: dict[str, str], body: bytes) -> bool:
    signed = headers["X-Leaderboard-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Leaderboard-Signature"])


@pytest.mark.slow
def test_two_schedulers_finalize_once_and_the_signed_webhook_is_retried_until_acknowledged(
        client, app, redis_client, redis_url, tmp_path):
    admin, service = token_headers(app, "boss", "admin"), token_headers(app, "venue", "service")
    receiver = Receiver(failures=2)
    starts, ends = window(-60, 62)  # ends in ~2 s; grace 1 s
    prizes = [{"from_rank": 1, "to_rank": 1, "prize": "1 BTC"}, {"from_rank": 2, "to_rank": 2, "prize": "0.1 BTC"}]
    create_competition(client, admin, competition_body("final", starts, ends, registration="none", prizes=prizes,
                                      webhook_url=receiver.url))
    post_trades(client, app, service, [("a", "alice", "30", starts + 1), ("b", "bob", "20", starts + 2),
                                       ("c", "carol", "10", starts + 3)])
    assert_error(client.get("/v1/competitions/final/results"), 404, "results_not_final")
    env = {"COMPETITION_JOB_SECONDS": "1", "FINALIZE_GRACE_SECONDS": "1", "WEBHOOK_SECRET": SECRET,
           "WEBHOOK_RETRY_BASE_SECONDS": "0.5", "LOG_LEVEL": "INFO", "REFRESH_SECONDS": "60",
           "WEBHOOK_POLL_SECONDS": "0.2", "WEBHOOK_ALLOW_PRIVATE": "1", "DEV_MODE": "1"}
    logs = [tmp_path / "s1.log", tmp_path / "s2.log"]
    procs = []
    try:
        for log in logs:
            with open(log, "wb") as handle:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "leaderboard", "scheduler"], stderr=handle,
                    env={**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET,
                         "DATA_DIR": str(tmp_path), **env}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and redis_client.hget(keys.competition("final", "webhook"),
                                                                "state") != b"acknowledged":
            time.sleep(0.1)
        time.sleep(2.5)  # two more ticks: an acknowledged webhook is not sent again
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in procs]
        receiver.close()
    assert codes == [0, 0]
    finalized = [line for log in logs for line in log.read_text().splitlines() if "competition_finalized" in line]
    assert len(finalized) == 1, finalized  # one result, whichever scheduler got there first
    assert len(receiver.requests) == 3, [r[1].get("X-Leaderboard-Signature") for r in receiver.requests]
    times = [t for t, _h, _b in receiver.requests]
    assert times[1] - times[0] > 0.5 - 0.15 and times[2] - times[1] > 1.0 - 0.15  # back-off 0.5 s, then 1 s
    attempts = [json.loads(line)["outcome"] for log in logs for line in log.read_text().splitlines()
                if "webhook_attempt" in line]
    assert sorted(attempts) == ["acknowledged", "retry in 0.5s (HTTP 500)", "retry in 1s (HTTP 500)"]
    bodies = {body for _t, _h, body in receiver.requests}
    assert len(bodies) == 1 and all(_valid_signature(h, b) for _t, h, b in receiver.requests)
    assert receiver.requests[0][1]["X-Leaderboard-Event"] == "competition.finalized"
    results = client.get("/v1/competitions/final/results")
    assert results.status_code == 200 and results.data == bodies.pop()
    assert [(e["rank"], e["user_id"], e["score"], e["prize"]) for e in results.json["entries"]] == [
        (1, "alice", "30.00", "1 BTC"), (2, "bob", "20.00", "0.1 BTC"), (3, "carol", "10.00", None)]
    assert client.get("/v1/competitions/final").json["status"] == "finished"
    # frozen: a late trade dated inside, a disqualification, a join: nothing changes
    post_trades(client, app, service, [("late", "carol", "1000", starts + 4)])
    assert_error(client.post("/v1/competitions/final/disqualifications", json={"user_id": "alice", "reason": "x"},
                             headers=admin), 409, "competition_final")
    assert competition_rows(client, "final") == [(1, "alice", "30.00"), (2, "bob", "20.00"), (3, "carol", "10.00")]
    assert json.loads(client.get("/v1/competitions/final/results").data) == results.json


def test_concurrent_finalizers_store_one_identical_result(client, app, redis_client):
    admin, service = token_headers(app, "boss", "admin"), token_headers(app, "venue", "service")
    starts, ends = window(-600, 60)  # ended long ago: due
    create_competition(client, admin, competition_body("race", starts, ends, registration="none"))
    with app.app_context():
        from leaderboard.redis_conn import get_redis

        redis = get_redis()
        registries = [CompetitionRegistry(redis, 0.001) for _ in range(4)]
        now_ms = ends + 10_000
        with ThreadPoolExecutor(4) as pool:
            done = list(pool.map(lambda r: finalize_due(redis, r, now_ms, 1000), registries))
        assert sorted(len(d) for d in done) == [0, 0, 0, 1]
        first = redis_client.get(keys.competition("race", "final"))
        assert finalize_due(redis, registries[0], now_ms + 60_000, 1000) == []
        assert redis_client.get(keys.competition("race", "final")) == first
    post_trades(client, app, service, [("x", "alice", "5", starts + 1)])  # closed: not counted
    assert competition_rows(client, "race") == []

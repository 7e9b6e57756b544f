"""Delivery of the producer's trades: into a real Redis stream, at a controlled rate, and over HTTP with
backoff, token refresh and a non-zero exit on persistent errors.

The HTTP tests run the real `leaderboard produce` process against a real local HTTP server that scripts its
answers: overload (503 + Retry-After) is otherwise hard to produce on demand from the real API. An end-to-end
test against the real API comes with the write path.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from leaderboard import keys
from leaderboard.producer.delivery import Delivery
from leaderboard.producer.market import TradeGenerator
from leaderboard.producer.runner import RunLimits, run
from leaderboard.producer.stream_target import StreamTarget

from .helpers import assert_valid_trade


def test_stream_target_writes_trade_arrays_into_the_real_stream(redis_client):
    stats = run(TradeGenerator(9, traders=20), StreamTarget(redis_client, 1000), RunLimits(rate=0, count=250),
                lambda: False, io.StringIO())
    assert stats["acknowledged"] == 250
    entries = redis_client.xrange(keys.trade_stream())
    assert len(entries) == 3  # batches of 100, 100, 50
    trades = [t for _id, fields in entries for t in orjson.loads(fields[b"trades"])]
    assert len(trades) == 250
    assert trades == TradeGenerator(9, traders=20).next_batch(250)
    for trade in trades:
        assert_valid_trade(trade)


class CountingTarget:
    def __init__(self) -> None:
        self.sent = 0

    def describe(self) -> str:
        return "memory"

    def start(self) -> None:
        pass

    def send(self, trades: list[dict[str, Any]]) -> Delivery:
        self.sent += len(trades)
        return Delivery(len(trades), 0)


def test_rate_control_is_accurate_at_demo_rates():
    target = CountingTarget()
    started = time.monotonic()
    run(TradeGenerator(1), target, RunLimits(rate=20, duration=1.5), lambda: False, io.StringIO())
    assert time.monotonic() - started < 2.5
    assert 28 <= target.sent <= 33  # 20/s for 1.5 s (+ the first one at t=0)


# --- HTTP: a scripted API in a thread ---
class ScriptedApi:
    """Answers /v1/login, /v1/token/refresh and /v1/trades from per-path scripts of (status, headers, body)."""

    def __init__(self, scripts: dict[str, list[tuple[int, dict[str, str], Any]]]) -> None:
        self.scripts = scripts
        self.requests: list[tuple[float, str, dict[str, str], bytes]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.requests.append((time.monotonic(), self.path, dict(self.headers), body))
                script = api.scripts.get(self.path) or [(404, {}, {"error": {"code": "not_found"}})]
                status, headers, payload = script.pop(0) if len(script) > 1 else script[0]
                if callable(payload):
                    payload = payload(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [path for _t, path, _h, _b in self.requests]


@pytest.fixture()
def scripted_api() -> Iterator[Callable[..., ScriptedApi]]:
    servers: list[ScriptedApi] = []

    def make(scripts: dict[str, list[tuple[int, dict[str, str], Any]]]) -> ScriptedApi:
        api = ScriptedApi(scripts)
        threading.Thread(target=api.server.serve_forever, daemon=True).start()
        servers.append(api)
        return api

    yield make
    for api in servers:
        api.server.shutdown()
        api.server.server_close()


def tokens(n: int) -> tuple[int, dict[str, str], dict[str, Any]]:
    return 200, {}, {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 900}


def accepted(body: bytes) -> dict[str, int]:
    return {"accepted": len(orjson.loads(body)["trades"])}


def produce(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEV_MODE": "1", "DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING",
           "PRODUCER_USERNAME": "svc", "PRODUCER_PASSWORD": "secret-password"}
    return subprocess.run(
        [sys.executable, "-m", "leaderboard", "produce", "--url", url, "--seed", "5", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_backs_off_on_503_for_retry_after_then_resends_the_same_batch(scripted_api, tmp_path):
    api = scripted_api({
        "/v1/login": [tokens(1)],
        "/v1/trades": [(503, {"Retry-After": "1"}, {"error": {"code": "buffer_full", "message": "full"}}),
                       (202, {}, accepted)],
    })
    result = produce(api.url, tmp_path, "--count", "5", "--batch-size", "5", "--rate", "0")
    assert result.returncode == 0, result.stderr
    posts = [(t, h, b) for t, path, h, b in api.requests if path == "/v1/trades"]
    assert len(posts) == 2
    assert posts[0][2] == posts[1][2]  # same trades, same ids: the retry is idempotent
    assert posts[1][0] - posts[0][0] >= 0.95  # Retry-After honoured
    assert posts[0][1]["Authorization"] == "Bearer access-1"
    assert "acknowledged 5" in result.stderr


def test_refreshes_the_token_once_on_401_then_succeeds(scripted_api, tmp_path):
    api = scripted_api({
        "/v1/login": [tokens(1)],
        "/v1/token/refresh": [tokens(2)],
        "/v1/trades": [(401, {}, {"error": {"code": "token_expired"}}), (202, {}, accepted)],
    })
    result = produce(api.url, tmp_path, "--count", "3", "--batch-size", "3", "--rate", "0")
    assert result.returncode == 0, result.stderr
    assert api.paths() == ["/v1/login", "/v1/trades", "/v1/token/refresh", "/v1/trades"]
    assert api.requests[2][2]["Authorization"] == "Bearer refresh-1"
    assert api.requests[3][2]["Authorization"] == "Bearer access-2"


def test_refused_login_exits_non_zero_with_a_clear_message(scripted_api, tmp_path):
    api = scripted_api({"/v1/login": [(401, {}, {"error": {"code": "invalid_credentials", "message": "bad"}})]})
    result = produce(api.url, tmp_path, "--count", "3")
    assert result.returncode != 0
    assert "login as 'svc'" in result.stderr and "refused" in result.stderr
    assert api.paths() == ["/v1/login"]


def test_persistent_rejections_and_a_missing_endpoint_exit_non_zero(scripted_api, tmp_path):
    rejecting = scripted_api({
        "/v1/login": [tokens(1)],
        "/v1/trades": [(422, {}, {"error": {"code": "validation_error", "message": "bad trade",
                                             "details": {"index": 0, "field": "price", "reason": "x"}}})],
    })
    one_by_one = ("--count", "100", "--batch-size", "1", "--rate", "0", "--concurrency", "1")
    result = produce(rejecting.url, tmp_path, *one_by_one)
    assert result.returncode != 0
    assert "10 batches in a row were rejected" in result.stderr and "validation_error" in result.stderr
    assert rejecting.paths().count("/v1/trades") == 10

    missing = scripted_api({"/v1/login": [tokens(1)]})
    result = produce(missing.url, tmp_path, "--count", "5")
    assert result.returncode != 0
    assert "no trade endpoint" in result.stderr

"""Result webhooks off the scheduler's tick, and where they may go (SSRF): a hanging receiver does not delay the
next tick's finalization, an attempt is bounded as a whole, webhook_url is checked at creation and every
destination again at delivery (resolved addresses, no redirects)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY

from leaderboard import keys
from leaderboard.competitions.model import validate_competition
from leaderboard.competitions.service import CompetitionRegistry
from leaderboard.competitions.webhooks import Policy, Refused, WebhookSender, post, schedule
from leaderboard.context import current_settings

from .helpers import TEST_SECRET, assert_error, competition_body, create_competition, token_headers, window

SECRET = "webhook-secret-0123456789-abcdefghijklmnop"
LOCAL = Policy(allow_http=True, allow_private=True)


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "WEBHOOK_SECRET": SECRET, "FINALIZE_GRACE_SECONDS": 1}  # not dev mode: https, public


@pytest.fixture()
def admin(app):
    return token_headers(app, "boss", "admin")


class Server:
    """A local HTTP server answering every POST with `status` (and `headers`); it counts what it got."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append(self.path)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(("url", "reason"), [
    ("http://venue.example/hooks", "https"),  # http only in dev mode
    ("https://user:pw@venue.example/hooks", "user:password"),
    ("https://venue.example/" + "a" * 2100, "at most 2048"),
    ("https://127.0.0.1/hooks", "public address"),
    ("https://[::1]:8443/hooks", "public address"),
    ("https://10.1.2.3/hooks", "public address"),
    ("https://169.254.169.254/latest/meta-data", "public address"),
    ("https://localhost:8443/hooks", "public address"),
    ("https://venue.example/hooks#frag", "fragment"),
    ("https://venue.example:0/hooks", "port"),
    ("https://venue.example:99999/hooks", "port"),
    ("https://ven ue.example/hooks", "printable"),
    ("https://venue.example/hooks\n", "printable"),
    ("https://venue_.example/hooks", "DNS name"),
    ("ftp://venue.example/hooks", "https"),
    ("javascript:alert(1)", "https"),
    (42, "URL"),
])
def test_a_bad_webhook_url_is_a_422_naming_the_field(client, admin, url, reason):
    body = competition_body("hooked", *window(0, 3600), webhook_url=url)
    response = client.post("/v1/competitions", json=body, headers=admin)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == "webhook_url"
    assert reason in response.json["error"]["details"]["reason"]
    assert client.get("/v1/competitions/hooked").status_code == 404


def test_a_public_https_webhook_url_is_accepted(client, admin):
    created = create_competition(client, admin, competition_body("hooked", *window(0, 3600),
                                                webhook_url="https://venue.example:8443/hooks/results?k=1"))
    assert created["id"] == "hooked"


def test_delivery_refuses_a_name_that_resolves_to_a_private_address_and_follows_no_redirect(app, redis_client):
    receiver, target = Server(), Server()
    redirector = Server(302, {"Location": f"http://127.0.0.1:{target.port}/elsewhere"})
    try:
        body, headers = b"{}", {"Content-Type": "application/json"}
        # a name (not a literal: creation cannot see it) resolving to loopback: refused before connecting
        with pytest.raises(Refused, match="non-public"):
            post(f"https://localhost:{receiver.port}/hook", body, headers, 2,
                 Policy(allow_http=False, allow_private=False))
        with pytest.raises(Refused, match="scheme"):
            post(f"http://127.0.0.1:{receiver.port}/hook", body, headers, 2,
                 Policy(allow_http=False, allow_private=True))
        assert receiver.requests == []
        assert post(f"http://127.0.0.1:{receiver.port}/hook", body, headers, 2, LOCAL) == 200
        assert receiver.requests == ["/hook"]
        assert post(f"http://127.0.0.1:{redirector.port}/r", body, headers, 2, LOCAL) == 302
        assert target.requests == []  # the redirect was not followed

        # through the sender: a competition created while private destinations were allowed, delivered by a
        # scheduler that does not allow them: refused, retried later, never sent
        starts, ends = window(-600, 60)
        comp = validate_competition(
            competition_body("moved", starts, ends, registration="none",
                        webhook_url=f"http://localhost:{receiver.port}/moved"),
            resolution_ms=1000, max_days=92, max_tiers=20, max_team_size=50, max_volume=10**12,
            webhook_signing=True, webhook=LOCAL.url_rules(current_settings_of(app)))
        CompetitionRegistry(redis_client, 0).create(comp)
        redis_client.set(keys.competition("moved", "final"), b'{"competition": "moved"}')
        schedule(redis_client, "moved", 0)
        settings = dataclasses.replace(current_settings_of(app), WEBHOOK_ALLOW_PRIVATE=False)
        refused_before = REGISTRY.get_sample_value("leaderboard_webhook_attempts_total", {"outcome": "refused"}) or 0
        outcomes = WebhookSender(redis_client, settings).run_due()
        assert outcomes == {"moved": "retry in 2s (refused: scheme 'http' not allowed)"}
        https_comp = dataclasses.replace(comp, id="moved2", webhook_url=f"https://localhost:{receiver.port}/m")
        CompetitionRegistry(redis_client, 0).create(https_comp)
        redis_client.set(keys.competition("moved2", "final"), b'{"competition": "moved2"}')
        schedule(redis_client, "moved2", 0)
        assert WebhookSender(redis_client, settings).run_due() == {
            "moved2": "retry in 2s (refused: non-public address)"}
        assert receiver.requests == ["/hook"]
        assert redis_client.zscore(keys.webhooks_due(), "moved2") > time.time() * 1000  # rescheduled
        assert REGISTRY.get_sample_value("leaderboard_webhook_attempts_total",
                                         {"outcome": "refused"}) == refused_before + 2
    finally:
        for server in (receiver, target, redirector):
            server.close()


def current_settings_of(app: Any) -> Any:
    with app.app_context():
        return current_settings()


def test_an_attempt_is_bounded_as_a_whole_even_when_the_receiver_trickles():
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:  # a status line, then one header byte every 0.2 s: each read succeeds
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not stop.wait(0.2):
            try:
                conn.sendall(b"a")
            except OSError:
                return
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            post(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}, 1.5, LOCAL)
        assert 1.4 < time.monotonic() - started < 4
    finally:
        stop.set()
        listener.close()


@pytest.mark.slow
def test_a_hanging_receiver_does_not_delay_the_next_ticks_finalization(client, app, admin, redis_client, redis_url,
                                                                       tmp_path):
    hanging = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    hang_url = f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
    created = [validate_competition(
        competition_body("stuck", *window(-600, 60), registration="none", webhook_url=hang_url), resolution_ms=1000,
        max_days=92, max_tiers=20, max_team_size=50, max_volume=10**12, webhook_signing=True,
        webhook=LOCAL.url_rules(current_settings_of(app)))]
    CompetitionRegistry(redis_client, 0).create(created[0])  # finalized at the first tick; its webhook hangs
    env = {"COMPETITION_JOB_SECONDS": "1", "FINALIZE_GRACE_SECONDS": "1", "WEBHOOK_SECRET": SECRET,
           "WEBHOOK_TIMEOUT_SECONDS": "12", "WEBHOOK_POLL_SECONDS": "0.2", "WEBHOOK_ALLOW_PRIVATE": "1",
           "DEV_MODE": "1", "LOG_LEVEL": "INFO", "REFRESH_SECONDS": "60", "LIVE_TICK_MS": "0"}
    log = tmp_path / "scheduler.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "leaderboard", "scheduler"], stderr=handle,
                                env={**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET,
                                     "DATA_DIR": str(tmp_path), **env})
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (redis_client.zscore(keys.webhooks_due(), "stuck") or 0) \
                < time.time() * 1000:
            time.sleep(0.05)  # until the sender has claimed the delivery: its attempt hangs from here
        claimed_at = time.time() * 1000
        starts, ends = window(-1, 2)  # ends in ~1 s, grace 1 s: due at the tick ~2-3 s from now
        create_competition(client, admin, competition_body("next", starts, ends, registration="none"))
        while time.monotonic() < deadline and redis_client.get(keys.competition("next", "final")) is None:
            time.sleep(0.05)
        finalized_at = time.time() * 1000
        assert redis_client.get(keys.competition("next", "final")) is not None
        assert finalized_at < ends + 1000 + 5000  # the tick after the grace, give or take a busy box (the old
        assert finalized_at - claimed_at < 12000 - 3000  # tick waited out the hanging attempt: 12 s)
        assert "webhook_attempt" not in log.read_text()  # it is still in flight in the sender's thread
        while time.monotonic() < deadline and "webhook_attempt" not in log.read_text():
            time.sleep(0.1)
        attempts = [json.loads(line) for line in log.read_text().splitlines() if "webhook_attempt" in line]
        assert [a["outcome"] for a in attempts] == ["retry in 2s (timeout)"]  # bounded: WEBHOOK_TIMEOUT_SECONDS
        assert 12000 - 500 < time.time() * 1000 - claimed_at < 12000 + 4000
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        hanging.close()
    assert code == 0

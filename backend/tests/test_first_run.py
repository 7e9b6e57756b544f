"""A newcomer's first minutes with `make run` (`leaderboard run`, on the default server): a terminal that stays
readable, other commands that find the running stack with no variable set, a busy port that stops everything
before it starts, and an embedded Redis that keeps its port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests

from leaderboard.embedded_redis import EmbeddedRedis, free_port
from leaderboard.ranking.boards import SCORES

from .helpers import Terminal, leaderboard_run, redis_processes_for

pytestmark = pytest.mark.slow


def clean_env() -> dict[str, str]:
    """A newcomer's shell: none of the service's variables set."""
    service_vars = {"REDIS_URL", "DATA_DIR", "DEV_MODE", "JWT_SECRET_KEY", "BIND", "PROMETHEUS_MULTIPROC_DIR",
                    "PRODUCER_USERNAME", "PRODUCER_PASSWORD", "LOG_LEVEL"}
    return {k: v for k, v in os.environ.items() if k not in service_vars}


def test_run_keeps_the_terminal_quiet_and_other_commands_find_the_stack_without_settings(tmp_path):
    """`leaderboard run` on a terminal: the banner (with the log file's path) once the demo has seeded past days
    (History has archives) and game scores, then for 20 s while the demo
    producer posts and two more commands work against the stack, at most a few lines (a status line redrawn in
    place, no access lines); every JSON line is in the log file. `create-user`, `produce --duration 3` and
    `status`, run from the project directory with no variable set, find the stack through the data dir."""
    port, redis_port = free_port(), free_port()
    with leaderboard_run(tmp_path, port, EMBEDDED_REDIS_PORT=str(redis_port)) as (run, terminal):
        banner_seen = time.monotonic()
        banner = terminal.text()
        log_path = tmp_path / "data" / "logs" / "leaderboard.log"
        assert str(log_path) in banner and f"redis://127.0.0.1:{redis_port}/0" in banner, banner
        # the demo seeded what a fresh data dir lacked: real archives of the past days, and game scores
        yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        history = requests.get(f"http://127.0.0.1:{port}/v1/leaderboards/all-volume/history/{yesterday}", timeout=5)
        assert history.status_code == 200 and history.json()["total"] >= 20, history.text
        scores = requests.get(f"http://127.0.0.1:{port}/v1/leaderboards/{SCORES}?period=day", timeout=5).json()
        assert scores["total"] >= 20, scores  # what the dashboard's game board shows from the first screen
        project = tmp_path / "project" / "sub"  # run from a sub-directory of the project: ./data is found above
        project.mkdir(parents=True)
        (tmp_path / "project" / "data").symlink_to(tmp_path / "data")

        def command(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "leaderboard", *args], env=clean_env(), cwd=project,
                                  capture_output=True, text=True, timeout=timeout)

        created = command("create-user", "--username", "newcomer", "--password", "newcomer-password")
        assert created.returncode == 0, created.stderr + created.stdout
        login = requests.post(f"http://127.0.0.1:{port}/v1/login",
                              json={"username": "newcomer", "password": "newcomer-password"}, timeout=5)
        assert login.status_code == 200
        produced = command("produce", "--duration", "3", "--rate", "20")
        assert produced.returncode == 0, produced.stderr
        finished = re.findall(r"^done: sent [\d,]+, acknowledged ([\d,]+), rejected 0, .* in ([\d.]+) s",
                              produced.stderr, re.M)
        assert len(finished) == 1, produced.stderr  # one summary
        assert int(finished[0][0].replace(",", "")) >= 20 and 2.5 <= float(finished[0][1]) < 4, finished
        live = requests.get(f"http://127.0.0.1:{port}/v1/competitions?status=live", timeout=5).json()
        demo = [c for c in live["competitions"] if c["id"] == "demo-cup"]  # the producer's demo competition
        assert demo and demo[0]["participants"] > 0, live  # fed by the demo trades
        status = command("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"http://127.0.0.1:{port}/  ready" in status.stdout and "answering" in status.stdout, status.stdout

        time.sleep(max(0.0, banner_seen + 20 - time.monotonic()))
        after = terminal.text(since=banner_seen)
        assert after.count("\n") <= 3, after  # warnings only (none expected here): no access lines
        assert "trades/s" in after and "boards" in after, after  # the status line, redrawn in place
        assert "\r\x1b[2K" in after
        lines = log_path.read_text().splitlines()
        access = [line for line in lines if '"http_request"' in line]
        assert len(access) > 40 and all(line.startswith("{") for line in lines), len(access)
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=60) == 0
    assert not (tmp_path / "data" / "run.json").exists()  # a stopped stack is no longer found


def test_a_busy_port_stops_run_before_anything_starts_and_says_how_to_pick_another(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**clean_env(), "DATA_DIR": str(tmp_path / "data"), "BIND": f"127.0.0.1:{port}"}
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "leaderboard", "run"], env=env, capture_output=True, text=True,
                             timeout=30)
    assert run.returncode == 1 and time.monotonic() - started < 10
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr and "BIND=127.0.0.1:" in run.stderr, run.stderr
    assert not (tmp_path / "data" / "redis").exists() and not redis_processes_for(tmp_path / "data")
    status = subprocess.run([sys.executable, "-m", "leaderboard", "status"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert status.returncode == 1 and "no `leaderboard run` is running" in status.stdout, status.stdout


def test_the_embedded_redis_keeps_its_port_from_run_to_run_unless_it_is_taken(tmp_path):
    preferred = free_port()
    with EmbeddedRedis(tmp_path / "a", appendonly=False, preferred_port=preferred) as server:
        assert server.port == preferred
        with EmbeddedRedis(tmp_path / "b", appendonly=False, preferred_port=preferred) as second:
            assert second.port != preferred and redis.Redis(port=second.port).ping()


def test_the_producer_on_a_terminal_redraws_its_progress_every_second_and_sums_up_once(redis_url):
    """`produce --duration 3` on a terminal (the stream target, so no API is needed): a live line redrawn at
    least once a second while it runs, then one summary line; the duration is the time it produced."""

    terminal = Terminal()
    env = {**clean_env(), "REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 40}
    proc = subprocess.Popen([sys.executable, "-m", "leaderboard", "produce", "--target", "stream", "--duration", "3",
                             "--rate", "50"], env=env, stdin=terminal.slave, stdout=terminal.slave,
                            stderr=terminal.slave)
    os.close(terminal.slave)
    terminal.reader.start()
    try:
        assert proc.wait(timeout=60) == 0, terminal.text()
    finally:
        terminal.reader.join(10)
        os.close(terminal.master)
    shown = terminal.text()
    assert shown.count("\r\x1b[2Ksent ") >= 2, shown  # redrawn at 1 s and 2 s (and maybe 3 s)
    summary = re.findall(r"^done: sent ([\d,]+), .* in ([\d.]+) s", shown.replace("\r\x1b[2K", "\n"), re.M)
    assert len(summary) == 1 and 2.5 <= float(summary[0][1]) < 4, shown

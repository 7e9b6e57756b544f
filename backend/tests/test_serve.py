"""The service as a user runs it: `leaderboard serve` with its embedded Redis, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from leaderboard.embedded_redis import free_port

from .helpers import leaderboard_run, redis_processes_for, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]  # granian and gunicorn


def start_service(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_serve(data_dir, port, LOG_LEVEL="WARNING")


def starve(pid: int, starving: threading.Event, run_s: float, stopped_s: float) -> None:
    """While `starving` is set, process `pid` runs `run_s` in every `run_s + stopped_s` seconds (SIGSTOP/SIGCONT):
    a process the scheduler of a loaded machine rarely runs."""
    try:
        while starving.is_set():
            os.kill(pid, signal.SIGSTOP)
            time.sleep(stopped_s)
            os.kill(pid, signal.SIGCONT)
            time.sleep(run_s)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def wait_until_serving(url: str, service: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        assert service.poll() is None, "serve exited"
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes still alive: {pids}")


def test_embedded_redis_persists_across_restarts_and_leaves_nothing_behind(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    service = start_service(data_dir, port)
    redis_pids = [p.pid for p in redis_processes_for(data_dir)]
    assert len(redis_pids) == 1
    worker_pids = [c.pid for c in psutil.Process(service.pid).children(recursive=True)]
    created = requests.post(f"{base}/v1/auth/register", json={"username": "persisted", "password": "long-password"})
    assert created.status_code == 201
    service.send_signal(signal.SIGTERM)
    assert service.wait(timeout=30) == 0
    wait_gone(redis_pids + worker_pids)
    assert (data_dir / "redis").is_dir()

    # restart: the account is still there
    service = start_service(data_dir, port)
    try:
        login = requests.post(f"{base}/v1/login", json={"username": "persisted", "password": "long-password"})
        assert login.status_code == 200
        redis_pids = [p.pid for p in redis_processes_for(data_dir)]
        everything = redis_pids + [c.pid for c in psutil.Process(service.pid).children(recursive=True)]
        # even a SIGKILL of the service leaves no redis-server or worker behind
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        wait_gone(everything, timeout=15)
    finally:
        if service.poll() is None:
            service.kill()


def test_a_stop_while_a_worker_starts_starved_of_cpu_ends_it_within_seconds(tmp_path, redis_url):
    """SIGTERM while worker 2 is still starting, starved of CPU (it runs 20 ms in every 400, as under a load of
    ~20 on 2 cores: its start-up then takes tens of seconds) while worker 1 serves: worker 2 ends within seconds,
    with its exit hooks and status 0, instead of finishing its start-up first (the master killed it after
    WEB_GRACEFUL_TIMEOUT, without its final flush: a full run at load 10 saw it)."""
    grace_s = 20
    log_path = tmp_path / "serve.log"
    port = free_port()
    service = start_serve(tmp_path / "data", port, stderr=log_path, wait_for=None, REDIS_URL=redis_url,
                          WEB_GRACEFUL_TIMEOUT=str(grace_s))
    starving = threading.Event()
    try:
        deadline = time.monotonic() + 20
        while len(psutil.Process(service.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        workers = sorted(child.pid for child in psutil.Process(service.pid).children())
        assert len(workers) == 2, log_path.read_text()[-3000:]
        starving.set()
        starver = threading.Thread(target=starve, args=(workers[1], starving, 0.02, 0.38), daemon=True)
        starver.start()
        wait_until_serving(f"http://127.0.0.1:{port}/health", service, timeout=30)  # worker 1
        service.send_signal(signal.SIGTERM)
        started = time.monotonic()
        status = service.wait(timeout=grace_s + 10)
        took = time.monotonic() - started
    finally:
        starving.clear()
        if service.poll() is None:
            service.kill()
            service.wait()
    log = log_path.read_text()
    assert "refused to gracefully stop" not in log and "Killing worker" not in log, log[-3000:]
    assert status == 0, log[-3000:]
    # worker 2's start-up (~1 s of CPU: 20 s and more at this ration) was cut short, not waited for
    stopped_starting = [json.loads(line) for line in log.splitlines() if '"worker_stopped_starting"' in line]
    assert [event["pid"] for event in stopped_starting] == [workers[1]], log[-3000:]
    assert took < grace_s / 2, (took, log[-3000:])
    wait_gone(workers)


def test_run_shows_demo_trades_once_up_and_ctrl_c_flushes_every_worker_before_redis_stops(tmp_path):
    """`leaderboard run` (what `make run` starts): the URLs are printed once the API answers and the demo trades
    are in the snapshots (REFRESH_SECONDS is an hour here, so only run's early refresh can have put them there).
    Then stopped the way a terminal's Ctrl-C stops it: SIGINT to the whole foreground process group. Redis must
    outlive the API so acknowledged trades reach it, and nothing may be left running."""
    port = free_port()
    with leaderboard_run(tmp_path, port, PRODUCER_RATE="20", REFRESH_SECONDS="3600") as (run, _):
        board = requests.get(f"http://127.0.0.1:{port}/v1/leaderboards/all-volume?period=day", timeout=5).json()
        assert board["source"] == "snapshot" and len(board["entries"]) >= 5, board
        time.sleep(1)  # a few more trades in flight
        everything = [run.pid] + [c.pid for c in psutil.Process(run.pid).children(recursive=True)]
        assert redis_processes_for(tmp_path / "data")
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=60) == 0
        wait_gone(everything, timeout=15)
    log_path = tmp_path / "data" / "logs" / "leaderboard.log"  # every process's JSON lines: not the terminal's
    events = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    stopped = [i for i, line in enumerate(events) if '"ingest_stopped"' in line]
    redis_stopped = [i for i, line in enumerate(events) if '"redis_stopped"' in line]
    assert len(stopped) == 2, "each of the 2 workers reports its ingest stop"
    assert all('"flushed_all":true' in events[i] and '"left_in_wal":0' in events[i] for i in stopped)
    assert redis_stopped and redis_stopped[0] > max(stopped), "Redis stopped only after the workers flushed"
    assert not [line for line in events if "flush failed" in line]


def test_a_killed_run_leaves_no_process_behind(tmp_path):
    """SIGKILL of `leaderboard run` itself: its children run in their own sessions (so Ctrl-C reaches only it),
    yet none of them, their gunicorn workers or Redis outlives it."""
    with leaderboard_run(tmp_path, free_port(), WEB_GRACEFUL_TIMEOUT="5") as (run, _):
        everything = [c.pid for c in psutil.Process(run.pid).children(recursive=True)]
        assert len(everything) >= 6  # redis, api master + 2 workers, scheduler, producer
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        wait_gone(everything, timeout=30)

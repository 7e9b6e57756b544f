"""The service as a user runs it: `leaderboard serve` with its embedded Redis, real signals."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from leaderboard.embedded_redis import free_port

from .serving import start_serve

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]  # granian and gunicorn


def redis_processes_for(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "cwd"]):
        try:
            if "redis-server" in " ".join(proc.info["cmdline"] or []) and str(data_dir) in (proc.info["cwd"] or ""):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def start_service(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_serve(data_dir, port, LOG_LEVEL="WARNING")


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


class Terminal:
    """The pseudo-terminal `leaderboard run` writes to (as under `make run`): everything it shows, timestamped."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.chunks: list[tuple[float, bytes]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed its end
                return
            if not data:
                return
            self.chunks.append((time.monotonic(), data))

    def text(self, since: float = 0.0) -> str:
        return b"".join(data for at, data in list(self.chunks) if at >= since).decode("utf-8", "replace")


@contextlib.contextmanager
def running(tmp_path: Path, port: int, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], Terminal]]:
    """`leaderboard run` in its own process group on a terminal of its own (like a terminal's foreground job),
    up to its URLs banner; on the way out every process it started is killed if still there."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DEV_MODE": "1", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "LOG_LEVEL": "INFO", **settings}
    env.pop("REDIS_URL", None)
    terminal = Terminal()
    run = subprocess.Popen([sys.executable, "-m", "leaderboard", "run"], env=env, stdin=terminal.slave,
                           stdout=terminal.slave, stderr=terminal.slave, start_new_session=True)
    os.close(terminal.slave)
    terminal.reader.start()
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while "Leaderboard is up" not in terminal.text():
            assert run.poll() is None, terminal.text()[-3000:]
            assert time.monotonic() < deadline, "run never printed its URLs"
            time.sleep(0.2)
        started = psutil.Process(run.pid).children(recursive=True)
        yield run, terminal
    finally:
        for proc in [*started, psutil.Process(run.pid)] if run.poll() is None else started:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        run.wait(10)
        terminal.reader.join(10)
        os.close(terminal.master)


def test_run_shows_demo_trades_once_up_and_ctrl_c_flushes_every_worker_before_redis_stops(tmp_path):
    """`leaderboard run` (what `make run` starts): the URLs are printed once the API answers and the demo trades
    are in the snapshots (REFRESH_SECONDS is an hour here, so only run's early refresh can have put them there).
    Then stopped the way a terminal's Ctrl-C stops it: SIGINT to the whole foreground process group. Redis must
    outlive the API so acknowledged trades reach it, and nothing may be left running."""
    port = free_port()
    with running(tmp_path, port, PRODUCER_RATE="20", REFRESH_SECONDS="3600") as (run, _):
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
    with running(tmp_path, free_port(), WEB_GRACEFUL_TIMEOUT="5") as (run, _):
        everything = [c.pid for c in psutil.Process(run.pid).children(recursive=True)]
        assert len(everything) >= 6  # redis, api master + 2 workers, scheduler, producer
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        wait_gone(everything, timeout=30)

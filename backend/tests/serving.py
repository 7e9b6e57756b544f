"""Start `python -m leaderboard serve` as a user would, for tests that need real HTTP: `start_serve` is the one
launcher (test_serve, test_write_crash and `serve` use it)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from leaderboard.embedded_redis import free_port


@dataclass
class Served:
    base: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]


def start_serve(data_dir: Path, port: int, *, stderr: Path | None = None, wait_for: str = "/ready",
                timeout: float = 60, **env_overrides: str) -> subprocess.Popen[bytes]:
    """The one way the tests start `python -m leaderboard serve` (2 workers, DEV_MODE=1, on 127.0.0.1:`port`,
    DATA_DIR=`data_dir`), returned once GET `wait_for` answers 200. Without REDIS_URL in `env_overrides` it
    starts its embedded Redis. `stderr` (the JSON logs): a file to write, else inherited. The caller stops it
    (or use `serve`)."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "DEV_MODE": "1", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "LOG_LEVEL": "INFO"}
    for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "JWT_SECRET_KEY"):
        env.pop(name, None)
    env.update(env_overrides)
    with contextlib.ExitStack() as files:
        log_file = files.enter_context(stderr.open("ab")) if stderr is not None else None
        proc = subprocess.Popen([sys.executable, "-m", "leaderboard", "serve"], env=env, stderr=log_file)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}{wait_for}", timeout=5).status_code == 200:
                return proc
        except requests.RequestException:  # not listening yet, or busy booting
            pass
        if proc.poll() is not None:
            tail = stderr.read_text()[-3000:] if stderr is not None else ""
            raise AssertionError(f"serve exited during start-up with {proc.returncode}\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"serve did not answer {wait_for} within {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def serve(
    tmp_path: Path, port: int | None = None, log_name: str = "serve.log", **env_overrides: str
) -> Iterator[Served]:
    """`start_serve` for the block (data in tmp_path/data, stderr to tmp_path/`log_name`), stopped after it."""
    data_dir, port = tmp_path / "data", port or free_port()
    log_path = tmp_path / log_name
    log_path.write_bytes(b"")
    proc = start_serve(data_dir, port, stderr=log_path, **env_overrides)
    try:
        yield Served(f"http://127.0.0.1:{port}", data_dir, log_path, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

"""Start `python -m leaderboard serve` (real gunicorn) as a user would, for tests that need real HTTP."""

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


@contextlib.contextmanager
def serve(
    tmp_path: Path, port: int | None = None, log_name: str = "serve.log", **env_overrides: str
) -> Iterator[Served]:
    """`leaderboard serve` with 2 workers on `port` (default: a free one); stderr (JSON logs) goes to
    tmp_path/`log_name`. Without REDIS_URL in `env_overrides` it starts its embedded Redis (DEV_MODE=1)."""
    data_dir, port = tmp_path / "data", port or free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "DEV_MODE": "1", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "LOG_LEVEL": "INFO"}
    for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "JWT_SECRET_KEY"):
        env.pop(name, None)
    env.update(env_overrides)
    log_path = tmp_path / log_name
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "leaderboard", "serve"], env=env, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy booting
                pass
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
        yield Served(base, data_dir, log_path, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

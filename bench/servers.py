"""The processes a benchmark run needs, all on 127.0.0.1, all stopped at the end: Redis, the API
(`python -m leaderboard serve`), the hello-world and bare ceiling apps (each under the server WEB_SERVER
names, or the one `server` names), and the stream consumers."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from leaderboard.embedded_redis import EmbeddedRedis, free_port

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60.0
# WARNING by default: no access line per request (the shipped INFO writes one, ~25 us each); BENCH_LOG_LEVEL=INFO
LOG_LEVEL = os.environ.get("BENCH_LOG_LEVEL", "WARNING")


def server_env(server: str | None) -> dict[str, str]:
    """`server` as settings: NAME[/INTERFACE][:THREADS], e.g. "granian" (the default interface, ASGI),
    "granian/wsgi" (Flask alone), "gunicorn/wsgi" (gthread), "granian:2" (2 blocking threads per worker)."""
    if not server:
        return {}
    spec, _, threads = server.partition(":")
    name, _, interface = spec.partition("/")
    return {"WEB_SERVER": name, **({"WEB_INTERFACE": interface} if interface else {}),
            **({"WEB_BLOCKING_THREADS": threads} if threads else {})}


def service_env(redis_url: str, data_dir: Path, port: int, server: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        **server_env(server),
        "BIND": f"127.0.0.1:{port}",
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": os.environ.get("BENCH_JWT_SECRET") or secrets.token_urlsafe(48),
        "DATA_DIR": str(data_dir),
        "DEV_MODE": "0",
        "LOG_LEVEL": LOG_LEVEL,
        "ACCESS_TOKEN_MINUTES": "240",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} during start-up")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {READY_TIMEOUT_SECONDS:.0f} s")


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], ready_url: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env=env, cwd=REPO, start_new_session=True)
    try:
        if ready_url:
            wait_http(ready_url, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[EmbeddedRedis]:
    """A fresh redis-server (no AOF: we measure the service, not the disk)."""
    with EmbeddedRedis(directory, appendonly=False) as server:
        yield server


@contextlib.contextmanager
def api(redis_url: str, data_dir: Path, server: str | None = None) -> Iterator[str]:
    port = free_port()
    env = service_env(redis_url, data_dir, port, server)
    base = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "leaderboard", "serve"], env, f"{base}/ready"):
        yield base


def idle_cpu_share(redis_url: str, data_dir: Path, seconds: float) -> dict[str, Any]:
    """Share of one core the idle API uses (master and workers, Redis not counted) over `seconds`, after it
    answered /ready and settled for 2 s."""
    import psutil

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "leaderboard", "serve"], service_env(redis_url, data_dir, port),
                 f"{base}/ready") as proc:
        time.sleep(2)
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]

        def used() -> float:
            return sum(sum(p.cpu_times()[:2]) for p in tree)

        before, started = used(), time.monotonic()
        time.sleep(seconds)
        share = (used() - before) / (time.monotonic() - started)
    return {"available": True, "core_share": share, "seconds": seconds, "processes": len(tree),
            "command": f"python -m leaderboard serve, idle; CPU time of its {len(tree)} processes over {seconds} s"}


@contextlib.contextmanager
def hello(redis_url: str, data_dir: Path, server: str | None = None, bare: bool = False) -> Iterator[str]:
    """The hello-world Flask app, or with `bare` the bare app (bench/hello_app.py: a WSGI callable, or an ASGI
    one under WEB_INTERFACE=asgi)."""
    port = free_port()
    env = service_env(redis_url, data_dir, port, server)
    base = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "bench.hello_app", *(["bare"] if bare else [])], env, f"{base}/"):
        yield base


def has_command(name: str) -> bool:
    """True when `leaderboard <name>` exists on this branch."""
    result = subprocess.run([sys.executable, "-m", "leaderboard", name, "--help"], capture_output=True, timeout=60)
    return result.returncode == 0


CONSUMER_READ_ENTRIES = "10"  # CONSUMER_COUNT of the bench consumers: 10 entries of 1,000 trades per read, so
# several consumers share a burst instead of the first one taking all of it


@contextlib.contextmanager
def consumers(redis_url: str, data_dir: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` stream consumers (`leaderboard consume`) in one group, idle and reading when this yields."""
    env = {**service_env(redis_url, data_dir, free_port()), "CONSUMER_COUNT": CONSUMER_READ_ENTRIES,
           "CONSUMER_BLOCK_MS": "100"}
    with contextlib.ExitStack() as stack:
        procs = [stack.enter_context(process([sys.executable, "-m", "leaderboard", "consume", "--name", f"bench-{n}"],
                                             env)) for n in range(count)]
        time.sleep(3)  # started and blocked in XREADGROUP
        yield procs

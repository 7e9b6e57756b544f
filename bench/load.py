"""Load generators: wrk (HTTP) and redis-benchmark (the Redis ceiling), each bounded in time."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .parse import parse_redis_benchmark_csv, parse_wrk

WRK_DIR = Path(__file__).resolve().parent / "wrk"
ZINCRBY_KEYSPACE = 100_000  # -r: distinct members the ZINCRBY ceiling spreads over


def wrk_command(url: str, seconds: int, connections: int, script: str | None, threads: int = 1) -> list[str]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        argv += ["-s", str(WRK_DIR / script)]
    return [*argv, url]


def start_wrk(url: str, seconds: int, connections: int, script: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(wrk_command(url, seconds, connections, script), env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_wrk(proc: subprocess.Popen[str], seconds: int) -> dict[str, Any]:
    output, _ = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {output[-500:]}")
    argv = proc.args if isinstance(proc.args, list) else [str(proc.args)]
    return {**parse_wrk(output), "command": " ".join(str(a) for a in argv)}


def wrk(url: str, seconds: int, connections: int = 64, script: str | None = None,
        env: dict[str, str] | None = None) -> dict[str, Any]:
    return finish_wrk(start_wrk(url, seconds, connections, script, env), seconds)


def redis_zincrby(port: int, pipeline: int, requests: int) -> dict[str, Any]:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {"available": False, "note": "redis-benchmark not installed (apt-get install redis-tools)"}
    argv = [binary, "-h", "127.0.0.1", "-p", str(port), "-c", "50", "-n", str(requests), "-P", str(pipeline),
            "-r", str(ZINCRBY_KEYSPACE), "--csv", "ZINCRBY", "lb", "1", "member:__rand_int__"]
    output = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True).stdout
    return {"available": True, "requests_per_second": parse_redis_benchmark_csv(output), "command": " ".join(argv)}

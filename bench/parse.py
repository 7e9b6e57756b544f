"""Parsers of the load tools' text output (kept free of imports so the test suite can load this file alone)."""

from __future__ import annotations

import csv
import io
import re

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = re.compile(r"^\s*([\d.]+)(us|ms|s|m)\s*$")


def duration_ms(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, float]:
    """requests/s, p50/p90/p99 latency (ms), totals and errors from `wrk --latency` output."""
    result: dict[str, float] = {"non_2xx": 0, "socket_errors": 0}
    for percentile in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{percentile}(?:\.0+)?%\s+(\S+)\s*$", output, re.M)
        if match:
            result[f"p{percentile}_ms"] = duration_ms(match.group(1))
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise ValueError("no Requests/sec line in wrk output")
    result["requests_per_second"] = float(match.group(1))
    match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if match:
        result["requests"] = int(match.group(1))
        result["seconds"] = duration_ms(match.group(2) + match.group(3)) / 1000
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if match:
        result["socket_errors"] = sum(int(g) for g in match.groups())
    return result


def parse_redis_benchmark_csv(output: str) -> float:
    """Requests/s of the last test in `redis-benchmark --csv` output (with or without the header row)."""
    rows = [row for row in csv.reader(io.StringIO(output)) if len(row) >= 2]
    rows = [row for row in rows if row[0] != "test"]
    if not rows:
        raise ValueError("no result row in redis-benchmark output")
    return float(rows[-1][1])

"""Batched ingestion end to end, before/after a change, alternating in one run: the stream (XADD of entries of
1,000 trades until the consumer group has acknowledged every one, the all-volume total checked) and the
1,000-trade HTTP batch POST (wrk; acknowledged, then applied). `before` runs the processes with
PYTHONPATH=$BEFORE_SRC (a checkout's backend/src, e.g. `git archive <commit> backend/src | tar -x -C /tmp/x`),
`after` this tree. One Redis for the run, flushed between measurements:

    BEFORE_SRC=/tmp/x/backend/src .venv/bin/python -m bench.ingest_compare   # ROUNDS=2 TRADES=50000 S=3

CONSUMERS (2) stream consumers; PARTS="stream http" chooses. Besides the rates (wall clock, which a shared machine
moves a lot), prints the CPU time per trade of the service's processes (consumers, or the API's master and workers)
and of redis-server during the measurement, which load moves less. Results: bench/PROFILE.md."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis as redis_lib

from . import scenarios, servers


@contextlib.contextmanager
def pythonpath(src: str | None) -> Iterator[None]:
    old = os.environ.get("PYTHONPATH")
    if src:
        os.environ["PYTHONPATH"] = src
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def cpu_seconds() -> tuple[float, float]:
    """CPU time so far of this run's service processes (every descendant but redis-server and wrk) and of
    redis-server."""
    service = redis = 0.0
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times, name = proc.cpu_times(), proc.name()
            used = times.user + times.system
            if name.startswith("redis-server"):
                redis += used
            elif name != "wrk":
                service += used
    return service, redis


def cpu_note(start: tuple[float, float], trades: float) -> str:
    service, redis = (now - then for now, then in zip(cpu_seconds(), start, strict=True))
    if not trades:
        return ""
    return f"CPU per trade: service {service / trades * 1e6:.1f} µs, redis {redis / trades * 1e6:.1f} µs"


def main() -> None:
    before = os.environ.get("BEFORE_SRC")
    if not before:
        sys.exit("BEFORE_SRC=<a checkout's backend/src> is required")
    rounds, trades, seconds = (int(os.environ.get(n, d)) for n, d in (("ROUNDS", "2"), ("TRADES", "50000"), ("S", "3")))
    count, parts = int(os.environ.get("CONSUMERS", "2")), os.environ.get("PARTS", "stream http").split()
    batch = next(s for s in scenarios.http_scenarios(secrets.token_hex(3)) if s.name == "post_batch_1000")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, servers.redis_server(Path(tmp) / "redis") as rs:
        client = redis_lib.Redis.from_url(rs.url)
        for number in range(rounds):
            for label, src in (("before", before), ("after", None)):
                data = Path(tmp) / f"{label}-{number}"
                with pythonpath(src):
                    if "stream" in parts:
                        client.flushall()
                        with servers.consumers(rs.url, data / "stream", count):
                            start = cpu_seconds()
                            got = scenarios.run_stream_ingestion(client, trades, count, False, seed=number)
                            cpu = cpu_note(start, trades)
                        print(f"round {number + 1} {label}: stream, {count} consumers, {trades:,} trades: "
                              f"{got.get('trades_per_second', 0):,.0f} trades/s, exact {got.get('exact')}, "
                              f"dead letters {got.get('dead_letters')}; {cpu}", flush=True)
                    if "http" in parts:
                        client.flushall()
                        with servers.api(rs.url, data / "api") as base:
                            token = scenarios.service_token(base, client)
                            start = cpu_seconds()
                            got = scenarios.run_http_scenario(base, token, batch, seconds, client)
                            cpu = cpu_note(start, got.get("trades_per_second", 0) * got.get("seconds", 0))
                        applied = got.get("applied_trades_per_second", 0)
                        print(f"round {number + 1} {label}: HTTP POST of 1,000 trades, {batch.connections} connections,"
                              f" {seconds} s: {got.get('trades_per_second', 0):,.0f} trades/s acknowledged, "
                              f"{applied:,.0f} applied, p99 {got.get('p99_ms', 0):.0f} ms"
                              f"{', ' + got['note'] if got.get('note') else ''}; {cpu}", flush=True)
        client.close()


if __name__ == "__main__":
    main()

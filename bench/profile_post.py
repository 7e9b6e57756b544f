"""Where a single trade POST's time goes, in process: the real app through the Flask test client (one
thread), a fresh embedded Redis, a service account. Prints wall vs CPU time per request (ROUNDS rounds of N
POSTs; CPU is the whole process's, the flusher thread included) and the cProfile top by own time:

    .venv/bin/python -m bench.profile_post        # N=1500 ROUNDS=3 TOP=15
    NATIVE=64 .venv/bin/python -m bench.profile_post   # through the ASGI router, 64 requests in flight

NATIVE=C posts through the ASGI router (live/asgi.py) instead, C requests at a time on one event loop, as granian
calls it: the native POST path (api/native_trades.py) with its group commit; the profile is the loop thread's.

Results: bench/PROFILE.md."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from typing import Any

from .in_process import service_app


def main() -> None:
    count, rounds, top = (int(os.environ.get(name, default)) for name, default in
                          (("N", "1500"), ("ROUNDS", "3"), ("TOP", "15")))
    with service_app() as (http, headers, _client):

        def bodies(prefix: str) -> list[bytes]:
            return [(f'{{"trade_id":"{prefix}{i}","trader_id":"bench-{i % 1000}","symbol":"SOL","side":"buy",'
                     f'"quantity":"1","price":"150"}}').encode() for i in range(count)]

        native = int(os.environ.get("NATIVE", "0"))
        if native:
            _profile_native(http, headers, bodies, native, rounds, top)
            return
        for number in range(rounds):
            batch = bodies(f"r{number}-")
            wall, cpu = time.perf_counter(), time.process_time()
            for body in batch:
                assert http.post("/v1/trades", data=body, headers=headers).status_code == 202
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"round {number + 1}: {wall / count * 1e6:,.0f} µs wall, {cpu / count * 1e6:,.0f} µs CPU per POST")
        profile = cProfile.Profile()
        profile.enable()
        for body in bodies("p-"):
            http.post("/v1/trades", data=body, headers=headers)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(top)


def _profile_native(http: Any, headers: dict[str, str], bodies: Callable[[str], list[bytes]], in_flight: int,
                    rounds: int, top: int) -> None:
    from leaderboard.live.asgi import Router

    app = http.application
    router = Router(app, app.config["SETTINGS"])
    assert http.post("/v1/trades", data=bodies("warm-")[0], headers=headers).status_code == 202  # token verified
    scope_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def post(body: bytes) -> int:
        status = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/trades", "raw_path": b"/v1/trades", "query_string": b"",
                 "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
                 "headers": [*scope_headers, (b"content-length", str(len(body)).encode())]}
        await router(scope, receive, send)
        return status[0]

    async def run(batch: list[bytes]) -> None:
        queue = list(reversed(batch))

        async def worker() -> None:
            while queue:
                assert await post(queue.pop()) == 202

        await asyncio.gather(*(worker() for _ in range(in_flight)))

    commits = router.trades.commits if router.trades is not None else None
    for number in range(rounds):
        batch = bodies(f"n{number}-")
        wall, cpu, threads = time.perf_counter(), time.process_time(), _thread_cpu()
        asyncio.run(run(batch))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        split = ", ".join(f"{name} {(seconds - threads.get(name, 0.0)) / len(batch) * 1e6:,.0f}"
                          for name, seconds in _thread_cpu().items() if seconds - threads.get(name, 0.0) > 0.001)
        print(f"round {number + 1}: {wall / len(batch) * 1e6:,.0f} µs wall, {cpu / len(batch) * 1e6:,.0f} µs CPU "
              f"per POST ({len(batch) / wall:,.0f}/s in one process); µs per POST by thread: {split}")
    if commits is not None:
        print(f"group commit: {commits.requests / max(commits.rounds, 1):.1f} requests per round trip")
    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(run(bodies("p-")))
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(top)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads, by thread name (Linux: /proc/self/task/<tid>/stat)."""
    import threading

    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    found: dict[str, float] = {}
    for tid, name in names.items():
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


if __name__ == "__main__":
    main()

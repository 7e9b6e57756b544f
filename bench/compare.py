"""The servers side by side: gunicorn (WEB_SERVER=gunicorn WEB_INTERFACE=wsgi: the gthread config shipped
before), granian on Flask alone (WEB_INTERFACE=wsgi) and granian as served by default (ASGI: the live router
in front of Flask through a2wsgi), each alone, alternating, ROUNDS rounds of S seconds (wrk -c64), on the same
requests: the bare app (a WSGI callable, or an ASGI one under ASGI: the server's own ceiling), the Flask
hello GET and POST, and the service's cached top-10 GET and single trade POST. `make bench` runs it too (its
"Servers" table); alone:

    .venv/bin/python -m bench.compare                                  # this tree
    COMPARE_SERVERS="granian granian:2" .venv/bin/python -m bench.compare  # 1 vs 2 blocking threads
    PYTHONPATH=<old tree>/backend/src .venv/bin/python -m bench.compare  # another commit's service code

Results: bench/PROFILE.md."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis as redis_lib

from . import load, scenarios, servers

# NAME[/INTERFACE][:THREADS] (bench/servers.server_env): gunicorn as shipped before (gthread, WSGI), granian on
# Flask alone (WSGI) and granian as served by default (ASGI: the live router, Flask through a2wsgi);
# COMPARE_SERVERS="granian granian:2" compares 1 and 2 blocking threads per worker
SERVERS = tuple(os.environ.get("COMPARE_SERVERS", "gunicorn/wsgi granian/wsgi granian").split())
# name -> (app: bare | hello | api, path, wrk script)
REQUESTS: dict[str, tuple[str, str, str | None]] = {
    "bare app GET": ("bare", "/", None),
    "Flask hello GET": ("hello", "/", None),
    "Flask hello POST": ("hello", "/", "hello_post.lua"),
    "cached top-10 GET": ("api", "/", "get_fixed.lua"),
    "single trade POST": ("api", "/v1/trades", "post_trades.lua"),
}
RATIOS = (  # (what, of what): the targets' ratios, per server
    ("cached top-10 GET", "bare app GET"),
    ("cached top-10 GET", "Flask hello GET"),
    ("single trade POST", "Flask hello POST"),
)


def server_comparison(redis_url: str, client: Any, data_dir: Path, seconds: int, rounds: int,
                      say: Callable[[str], None] = print) -> dict[str, Any]:
    """{"servers": {server: {request: [req/s per round]}}, "p99_ms": {...}, "commands": [...], ...}."""
    scenarios.populate_read_board(client)
    measured: dict[str, dict[str, list[float]]] = {s: {name: [] for name in REQUESTS} for s in SERVERS}
    p99: dict[str, dict[str, list[float]]] = {s: {name: [] for name in REQUESTS} for s in SERVERS}
    commands: list[str] = []
    for number in range(rounds):
        for server in SERVERS:
            say(f"servers: round {number + 1}/{rounds}, {server}")
            with contextlib.ExitStack() as stack:
                bases = {
                    "bare": stack.enter_context(servers.hello(redis_url, data_dir / server, server, bare=True)),
                    "hello": stack.enter_context(servers.hello(redis_url, data_dir / server, server)),
                    "api": stack.enter_context(servers.api(redis_url, data_dir / server, server)),
                }
                envs = {
                    "cached top-10 GET": {"BENCH_PATH": f"/v1/leaderboards/{scenarios.READ_BOARD}?period=day&limit=10"},
                    "single trade POST": {"BENCH_TOKEN": scenarios.service_token(bases["api"], client),
                                          "BENCH_RUN": f"v{number}{secrets.token_hex(3)}",
                                          "BENCH_BATCH": "0", "BENCH_TRADERS": "10000", "BENCH_SKEW": "1.1"},
                }
                load.wrk(bases["api"] + "/", 1, 64, "get_fixed.lua", envs["cached top-10 GET"])  # cache warm
                for name, (app, path, script) in REQUESTS.items():
                    result = load.wrk(bases[app] + path, seconds, 64, script, envs.get(name))
                    measured[server][name].append(result["requests_per_second"])
                    p99[server][name].append(result.get("p99_ms") or 0.0)
                    if number == 0:
                        commands.append(f"WEB_SERVER={server} {app}: {result['command']}")
    return {"servers": measured, "p99_ms": p99, "rounds": rounds, "seconds": seconds, "commands": commands,
            "ratios": {server: {f"{a} / {b}": sum(measured[server][a]) / sum(measured[server][b])
                                for a, b in RATIOS if sum(measured[server][b])} for server in SERVERS}}


def main() -> None:
    seconds = int(os.environ.get("S", "5"))
    rounds = int(os.environ.get("ROUNDS", "2"))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, servers.redis_server(Path(tmp) / "redis") as rs:
        client = redis_lib.Redis.from_url(rs.url)
        result = server_comparison(rs.url, client, Path(tmp) / "data", seconds, rounds)
    print(f"{'':20}" + "".join(f"{server:>28}" for server in SERVERS))
    for name in REQUESTS:
        print(f"{name:20}" + "".join(f"{' / '.join(f'{v:,.0f}' for v in result['servers'][s][name]):>28}"
                                     for s in SERVERS))
    print("p99 latency, ms (wrk --latency, per round):")
    for name in REQUESTS:
        print(f"{name:20}" + "".join(f"{' / '.join(f'{v:,.1f}' for v in result['p99_ms'][s][name]):>28}"
                                     for s in SERVERS))
    for ratio in result["ratios"][SERVERS[0]]:
        print(f"{ratio:40}" + "".join(f"{result['ratios'][s][ratio]:>10.0%}" for s in SERVERS))


if __name__ == "__main__":
    main()

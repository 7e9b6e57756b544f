"""Ceiling and scenario side by side, alternating, for before/after measurements of the HTTP hot paths:
hello POST vs single trade POST, hello GET vs cached top-10 GET (ROUNDS rounds of S seconds, wrk -c64).

    .venv/bin/python -m bench.compare                                  # this tree
    PYTHONPATH=<old tree>/backend/src .venv/bin/python -m bench.compare  # another commit's service code

WEB_WORKER_CLASS / WEB_THREADS in the environment apply to both servers. Results: bench/PROFILE.md."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import redis as redis_lib

from . import load, scenarios, servers


def main() -> None:
    seconds = int(os.environ.get("S", "5"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, servers.redis_server(Path(tmp) / "redis") as rs:
        client = redis_lib.Redis.from_url(rs.url)
        data_dir = Path(tmp) / "data"
        results: dict[str, list[float]] = {"hello POST": [], "trade POST": [], "hello GET": [], "top-10 GET": []}
        scenarios.populate_read_board(client)
        with servers.hello(rs.url, data_dir) as hello, servers.api(rs.url, data_dir) as api:
            token = scenarios.service_token(api, client)
            for number in range(rounds):
                trade_env = {"BENCH_TOKEN": token, "BENCH_RUN": f"c{number}{secrets.token_hex(2)}", "BENCH_BATCH": "0",
                             "BENCH_TRADERS": "10000", "BENCH_SKEW": "1.1"}
                top_env = {"BENCH_PATH": "/v1/leaderboards/eth?period=day&limit=10"}
                for name, url, script, env in (
                    ("hello POST", hello + "/", "hello_post.lua", None),
                    ("trade POST", api + "/v1/trades", "post_trades.lua", trade_env),
                    ("hello GET", hello + "/", None, None),
                    ("top-10 GET", api + "/", "get_fixed.lua", top_env),
                ):
                    results[name].append(load.wrk(url, seconds, 64, script, env)["requests_per_second"])
        for name, values in results.items():
            print(f"{name:12} " + " / ".join(f"{value:,.0f}" for value in values))
        print(f"trade POST / hello POST: {sum(results['trade POST']) / sum(results['hello POST']):.0%}")
        print(f"top-10 GET / hello GET: {sum(results['top-10 GET']) / sum(results['hello GET']):.0%}")


if __name__ == "__main__":
    main()

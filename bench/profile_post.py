"""Where a single trade POST's time goes, in process: the real app through the Flask test client (one
thread), a fresh embedded Redis, a service account. Prints wall vs CPU time per request (ROUNDS rounds of N
POSTs; CPU is the whole process's, the flusher thread included) and the cProfile top by own time:

    .venv/bin/python -m bench.profile_post        # N=1500 ROUNDS=3 TOP=15

Results: bench/PROFILE.md."""

from __future__ import annotations

import cProfile
import os
import pstats
import time

from .in_process import service_app


def main() -> None:
    count, rounds, top = (int(os.environ.get(name, default)) for name, default in
                          (("N", "1500"), ("ROUNDS", "3"), ("TOP", "15")))
    with service_app() as (http, headers, _client):

        def bodies(prefix: str) -> list[bytes]:
            return [(f'{{"trade_id":"{prefix}{i}","trader_id":"bench-{i % 1000}","symbol":"SOL","side":"buy",'
                     f'"quantity":"1","price":"150"}}').encode() for i in range(count)]

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


if __name__ == "__main__":
    main()

"""Where one stream consumer's time goes per batch, in process: `TradeStreamConsumer.process` on entries of 1,000 of
the mock producer's trades (as XREADGROUP hands them), a fresh embedded Redis, real apply and acknowledgement.
Prints wall vs CPU time per trade of this process, and the cProfile top by own time (Redis' own time is the wall
time the process waits for it):

    .venv/bin/python -m bench.profile_consumer        # TRADES=50000 TOP=20 SETTLE_GC=1

SETTLE_GC=0 leaves Python's garbage collection as it is, instead of `settle_gc()` as `leaderboard consume` does.

Results: bench/PROFILE.md."""

from __future__ import annotations

import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import redis as redis_lib

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.embedded_redis import EmbeddedRedis
from leaderboard.ingest.consumer import TradeStreamConsumer, settle_gc

from .scenarios import stream_entries


def main() -> None:
    count, top = int(os.environ.get("TRADES", "50000")), int(os.environ.get("TOP", "20"))
    with tempfile.TemporaryDirectory(prefix="bench-consumer-") as tmp, \
            EmbeddedRedis(Path(tmp) / "redis", appendonly=False) as server:
        redis = redis_lib.Redis.from_url(server.url)
        settings = load_settings({"REDIS_URL": server.url, "JWT_SECRET_KEY": "b" * 40, "DATA_DIR": Path(tmp) / "d"})
        consumer = TradeStreamConsumer(settings, redis, "profile")
        consumer.ensure_group()
        if os.environ.get("SETTLE_GC", "1") == "1":
            settle_gc()
        rounds = []
        for number, profiled in enumerate((False, True)):
            payloads, _total = stream_entries(count, seed=number, distinct=False)
            for payload in payloads:
                redis.xadd(keys.trade_stream(), {"trades": payload})
            batches = []
            while entries := consumer.read_new():
                batches.append(entries)
            profile = cProfile.Profile() if profiled else None
            wall, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            for entries in batches:
                consumer.process(entries)
            if profile:
                profile.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rounds.append(f"{'profiled' if profiled else 'plain'}: {wall / count * 1e6:.1f} µs wall, "
                          f"{cpu / count * 1e6:.1f} µs CPU per trade")
        print("\n".join(rounds))
        assert consumer.dead_entries == 0
        pstats.Stats(profile).sort_stats("tottime").print_stats(top)  # type: ignore[arg-type]
        redis.close()


if __name__ == "__main__":
    main()

"""Scale: one board grown to 1M members directly in Redis; the read path's Redis calls timed at each size
(client round trip and Redis' own per-command latency histogram), memory per member, and the cost of one
flush transaction by batch size."""

from __future__ import annotations

import importlib.util
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from leaderboard.ranking import keys

SCALE_BOARD = "bench-scale"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
CALLS = 10_000  # timed calls per size and operation
AROUND_SIZE = 10
FLUSH_BATCHES = (10, 100, 500, 1_000, 2_000, 5_000)


def _percentiles(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "p50_us": ordered[len(ordered) // 2],
        "p99_us": ordered[int(len(ordered) * 0.99)],
        "mean_us": statistics.fmean(ordered),
    }


def _server_histogram_p99(redis: Any, command: str) -> float | None:
    """p99 upper bound (µs) from `LATENCY HISTOGRAM` (Redis >= 7: cumulative power-of-two buckets)."""
    try:
        raw = redis.execute_command("LATENCY", "HISTOGRAM", command)
    except Exception:  # older Redis: no LATENCY HISTOGRAM
        return None
    if not raw:
        return None
    body = (
        raw.get(command.encode()) or raw.get(command)
        if isinstance(raw, dict)
        else dict(zip(raw[1][::2], raw[1][1::2], strict=True))
    )
    if not body:
        return None
    calls = int(body[b"calls"])
    buckets = body[b"histogram_usec"]
    pairs = sorted(
        (int(k), int(v))
        for k, v in (buckets.items() if isinstance(buckets, dict) else zip(buckets[::2], buckets[1::2], strict=True))
    )
    counts = [count for _bound, count in pairs]
    cumulative_already = counts == sorted(counts) and counts[-1] == calls
    running = 0
    for bound, count in pairs:
        running = count if cumulative_already else running + count
        if running >= 0.99 * calls:
            return float(bound)
    return None


def _populate(redis: Any, key: str, start: int, end: int, rng: random.Random) -> None:
    for chunk in range(start, end, 20_000):
        pipe = redis.pipeline(transaction=False)
        pipe.zadd(key, {f"trader-{i:07d}": rng.randrange(1, 10**10) for i in range(chunk, min(chunk + 20_000, end))})
        pipe.execute()


def time_read_calls(redis: Any, key: str, size: int, rng: random.Random) -> dict[str, Any]:
    """The Redis work of a member view (ZSCORE + ZREVRANK + ZCARD, one round trip) and of around-me
    (ZREVRANK, then ZREVRANGE of the window WITH SCORES)."""
    redis.config_resetstat()
    rank_samples, around_samples = [], []
    for _ in range(CALLS):
        member = f"trader-{rng.randrange(size):07d}"
        started = time.perf_counter()
        pipe = redis.pipeline(transaction=False)
        pipe.zscore(key, member)
        pipe.zrevrank(key, member)
        pipe.zcard(key)
        pipe.execute()
        rank_samples.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        rank = redis.zrevrank(key, member)
        low = max(rank - AROUND_SIZE // 2, 0)
        redis.zrevrange(key, low, low + AROUND_SIZE - 1, withscores=True)
        around_samples.append((time.perf_counter() - started) * 1e6)
    stats = redis.info("commandstats")
    return {
        "members": size,
        "rank_client": _percentiles(rank_samples),
        "around_client": _percentiles(around_samples),
        "server_us_per_call": {
            name: stats.get(f"cmdstat_{name}", {}).get("usec_per_call")
            for name in ("zrevrank", "zscore", "zrevrange", "zcard")
        },
        "server_p99_us_bound": {name: _server_histogram_p99(redis, name) for name in ("zrevrank", "zrevrange")},
    }


def board_size_latency(redis: Any) -> dict[str, Any]:
    key = keys.all_time(SCALE_BOARD)
    redis.delete(key)
    rng = random.Random(7)
    before = int(redis.info("memory")["used_memory"])
    results, populated, memory = [], 0, {}
    for size in SIZES:
        started = time.perf_counter()
        _populate(redis, key, populated, size, rng)
        populate_seconds = time.perf_counter() - started
        populated = size
        if size == SIZES[-1]:
            used = int(redis.info("memory")["used_memory"]) - before
            memory = {"members": size, "bytes": used, "bytes_per_member": used / size, "member_name": "trader-0000000"}
        results.append({**time_read_calls(redis, key, size, rng), "populate_seconds": populate_seconds})
    redis.delete(key)
    return {"sizes": results, "memory": memory}


def find_apply_function() -> str | None:
    """The write path's apply function, when it is on this branch."""
    return "leaderboard.ingest" if importlib.util.find_spec("leaderboard.ingest") else None


def model_flush_cost(redis: Any) -> dict[str, Any]:
    """One MULTI/EXEC per batch holding what a trade costs on the model of the write path: ZINCRBY on its
    symbol board and on all-volume for all-time, day and hour, plus an exactly-once marker (SET NX EX)."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    results = []
    for batch in FLUSH_BATCHES:
        timings = []
        for repeat in range(max(3, 20_000 // batch)):
            pipe = redis.pipeline(transaction=True)
            for n in range(batch):
                trader = f"flush-{(repeat * batch + n) % 5000}"
                for board in ("sol", "all-volume"):
                    for key in (keys.all_time(board), keys.day(board, now.date()), keys.hour(board, hour)):
                        pipe.zincrby(key, 15_000, trader)
                pipe.set(keys.seen("sol", f"flush-{batch}-{repeat}-{n}"), 1, nx=True, ex=3600)
            started = time.perf_counter()
            pipe.execute()
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        results.append(
            {
                "batch": batch,
                "median_ms": median * 1000,
                "max_ms": max(timings) * 1000,
                "trades_per_second": batch / median,
            }
        )
    return {"model": True, "batches": results}

"""Scale: one board grown to 1M members through the real apply path (ingest/flusher.py's Applier and the
apply script of ranking/apply.py), the read path's own functions (ranking/store.py member_ranks, around, top)
timed at each size from the client and inside Redis (INFO commandstats and LATENCY HISTOGRAM of EVALSHA),
memory per member, and flush time by batch size through the real Applier."""

from __future__ import annotations

import itertools
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.ingest.flusher import Applier
from leaderboard.ingest.writes import Increment, Write
from leaderboard.ranking import store

SCALE_BOARD = "bench-scale"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
CALLS = {False: 10_000, True: 3_000}  # timed calls per size and function, by quick mode
AROUND_SIZE = 10
POPULATE_CHUNK = 20_000  # writes per Applier.apply call while growing the board
FLUSH_BATCHES = (10, 100, 500, 1_000, 2_000, 5_000)
FLUSH_TRADES = 20_000  # trades applied per batch size (at least 3 batches)


def _percentiles(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "p50_us": ordered[len(ordered) // 2],
        "p99_us": ordered[int(len(ordered) * 0.99)],
        "mean_us": statistics.fmean(ordered),
    }


def server_histogram_p99(redis: Any, command: str) -> float | None:
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


def _applier(redis: Any, chunk_writes: int | None = None) -> Applier:
    settings = load_settings({"JWT_SECRET_KEY": "x" * 32})
    return Applier(redis, chunk_writes=chunk_writes or settings.APPLY_CHUNK_WRITES,
                   marker_ttl=settings.DEDUPE_WINDOW_SECONDS, history_days=settings.HISTORY_DAYS)


def member_name(number: int) -> str:
    return f"trader-{number:07d}"


def _populate(applier: Applier, start: int, end: int, rng: random.Random, ts_ms: int) -> None:
    """Members start..end-1, one write each, through the real apply path (exactly-once markers, all-time,
    day and hour sets)."""
    for chunk in range(start, end, POPULATE_CHUNK):
        applier.apply([
            Write(f"t:scale-{n}", member_name(n), ts_ms, (Increment(SCALE_BOARD, "sum", rng.randrange(1, 10**10)),))
            for n in range(chunk, min(chunk + POPULATE_CHUNK, end))
        ])


def _timed(calls: int, function: Any) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def time_read_functions(redis: Any, key: str, size: int, calls: int, rng: random.Random) -> dict[str, Any]:
    """store.member_ranks (one member), store.around (10 rows) and store.top (10 rows) at this size: client
    round trip percentiles, and Redis' own time per call and p99 bound for each."""
    results: dict[str, Any] = {"members": size}
    functions = {
        "rank": ("evalsha", lambda: store.member_ranks(redis, key, [member_name(rng.randrange(size))])),
        "around": ("evalsha", lambda: store.around(redis, key, member_name(rng.randrange(size)), AROUND_SIZE)),
        "top": ("zrevrange", lambda: store.top(redis, key, 10)),
    }
    for name, (command, function) in functions.items():
        redis.config_resetstat()  # also resets the latency histograms
        client = _percentiles(_timed(calls, function))
        stats = redis.info("commandstats").get(f"cmdstat_{command}", {})
        results[name] = {**client, "server_us_per_call": stats.get("usec_per_call"),
                         "server_p99_us_bound": server_histogram_p99(redis, command), "server_command": command}
    return results


def board_size_latency(redis: Any, quick: bool) -> dict[str, Any]:
    key = keys.all_time(SCALE_BOARD)
    applier = _applier(redis)
    rng = random.Random(7)
    ts_ms = int(datetime.now(UTC).timestamp() * 1000)
    before = int(redis.info("memory")["used_memory"])
    results, populated, memory = [], 0, {}
    for size in SIZES:
        started = time.perf_counter()
        _populate(applier, populated, size, rng, ts_ms)
        populate_seconds = time.perf_counter() - started
        added = size - populated
        populated = size
        if size == SIZES[-1]:
            used = int(redis.info("memory")["used_memory"]) - before
            zset = int(redis.memory_usage(key, samples=0) or 0)
            memory = {"members": size, "sorted_set_bytes": zset, "sorted_set_bytes_per_member": zset / size,
                      "total_bytes": used, "total_bytes_per_member": used / size, "member_name": member_name(0)}
        results.append({**time_read_functions(redis, key, size, CALLS[quick], rng),
                        "populate_seconds": populate_seconds, "populate_writes_per_second": added / populate_seconds})
    for dead in redis.scan_iter(match=f"{keys.PREFIX}:{keys.board_tag(SCALE_BOARD)}:*", count=10_000):
        redis.unlink(dead)
    return {"sizes": results, "memory": memory}


FLUSH_TRADERS = 10_000  # traders of the flush measurement, active like the mock producer's (Zipf 1.1)
_ZIPF_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(FLUSH_TRADERS)))


def _trade_writes(count: int, tag: str, ts_ms: int) -> list[Write]:
    """Trades on SOL (symbol board + all-volume), 1 SOL at 150 USD each, by Zipf-active traders."""
    rng = random.Random(count)
    traders = rng.choices(range(FLUSH_TRADERS), cum_weights=_ZIPF_WEIGHTS, k=count)
    incs = (Increment("sol", "sum", 15_000), Increment("all-volume", "sum", 15_000))
    return [Write(f"t:flush-{tag}-{n}", f"flush-{trader}", ts_ms, incs) for n, trader in enumerate(traders)]


def flush_cost(redis: Any) -> dict[str, Any]:
    """Applier.apply of one flush of N trades (what the flusher does with N buffered trades): with the
    service's chunking (APPLY_CHUNK_WRITES per board per transaction) and with the whole flush in one
    transaction per board (how long one EXEC blocks Redis as the batch grows)."""
    ts_ms = int(datetime.now(UTC).timestamp() * 1000)
    results = []
    default_chunk = _applier(redis).chunk_writes
    for batch in FLUSH_BATCHES:
        row: dict[str, Any] = {"batch": batch}
        for label, chunk in (("chunked", None), ("one_exec", batch)):
            applier = _applier(redis, chunk)
            timings = []
            for repeat in range(max(3, FLUSH_TRADES // batch)):
                writes = _trade_writes(batch, f"{label}-{batch}-{repeat}", ts_ms)
                started = time.perf_counter()
                applier.apply(writes)
                timings.append(time.perf_counter() - started)
            median = statistics.median(timings)
            row[label] = {"median_ms": median * 1000, "max_ms": max(timings) * 1000,
                          "trades_per_second": batch / median}
        results.append(row)
    return {"batches": results, "chunk_writes": default_chunk}

"""The service's scenarios against the running API and the stream consumer.

A scenario whose endpoint answers 404/405 is reported "not available" instead of failing the run. Write
scenarios are checked, not only timed: after the load, the harness waits until every acknowledged trade is
in Redis (the board's total equals the trades counted) and reports that end-to-end rate beside the
acknowledged one.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import requests

from leaderboard import defaults, keys
from leaderboard.auth.users import UserStore
from leaderboard.config import load_settings
from leaderboard.ingest.consumer import stream_drained
from leaderboard.ingest.flusher import Applier
from leaderboard.ingest.validation import parse_trades
from leaderboard.ingest.writes import score_write, trade_write
from leaderboard.producer.market import TradeGenerator
from leaderboard.ranking.boards import Board

from . import load

READ_BOARD = "eth"  # board populated for the read scenarios
READ_MEMBERS = 100_000  # members put on it (reader-0 .. reader-N-1)
WRITE_BOARD = "sol"  # every bench trade is 1 SOL at 150 USD
TRADE_NOTIONAL_CENTS = 15_000
WRITE_TRADERS = 10_000  # distinct traders of the HTTP write scenarios
ZIPF_SKEW = "1.1"  # traders' activity in the write scenarios: the mock producer's Zipf exponent
GLB_GAME = "1"  # go-leader-board's game id; its board is game-1
GLB_PLAYERS = 10_000  # players with a score before the mix starts (its rank GETs pick among them)
APPLY_TIMEOUT_SECONDS = 180.0  # longest wait for acknowledged or streamed trades to be applied
STREAM_ENTRY_TRADES = 1000  # trades per stream entry (MAX_BATCH)
STREAM_TRADERS = 10_000  # traders of the stream scenario (the mock producer's generator)
BOARD_VISIBLE_SECONDS = 6.0  # a board declared by one worker is seen by the others within this


@dataclass
class Scenario:
    name: str
    title: str
    ceiling: str  # key of the ceiling it is compared with
    probe: tuple[str, str, bytes | None]  # method, path (%d -> a member number), body
    script: str
    env: dict[str, str] = field(default_factory=dict)
    connections: int = 64
    trades_per_request: int = 0


def service_token(base: str, redis: Any) -> str:
    password = secrets.token_urlsafe(18)
    username = f"bench-{secrets.token_hex(3)}"
    UserStore(redis).create(username, password, "Benchmark", "service")
    response = requests.post(f"{base}/v1/login", json={"username": username, "password": password}, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


def populate_read_board(redis: Any) -> None:
    today = datetime.now(UTC).date()
    rng = random.Random(1)
    for start in range(0, READ_MEMBERS, 10_000):
        scores = {f"reader-{i}": rng.randrange(1, 10**9) for i in range(start, min(start + 10_000, READ_MEMBERS))}
        pipe = redis.pipeline(transaction=False)
        pipe.zadd(keys.all_time(READ_BOARD), scores)
        pipe.zadd(keys.day(READ_BOARD, today), scores)
        pipe.execute()


def probe(base: str, token: str, method: str, path: str, body: bytes | None) -> str | None:
    """None when the endpoint answers; otherwise why the scenario is not available."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        response = requests.request(method, base + path.replace("%d", "1"), data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        return f"probe failed: {exc}"
    if response.status_code in (404, 405):
        return f"not available ({method} {path.split('?')[0]} -> {response.status_code})"
    if response.status_code >= 400:
        return f"probe answered {response.status_code}: {response.text[:160]}"
    return None


def one_trade(trade_id: str) -> bytes:
    return orjson.dumps({"trade_id": trade_id, "trader_id": "bench-probe", "symbol": "SOL", "side": "buy",
                         "quantity": "1", "price": "150"})


def http_scenarios(run_id: str) -> list[Scenario]:
    post_env = {"BENCH_TRADERS": str(WRITE_TRADERS), "BENCH_SKEW": ZIPF_SKEW}
    member_env = {"BENCH_MEMBERS": str(READ_MEMBERS)}
    members = f"/v1/leaderboards/{READ_BOARD}/members/reader-%d"
    return [
        Scenario("post_single", "Trade POST, 1 trade/request", "http_post",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-1")), "post_trades.lua",
                 {**post_env, "BENCH_RUN": f"{run_id}s", "BENCH_BATCH": "0"}, trades_per_request=1),
        Scenario("post_batch_100", "Trade POST, 100 trades/request", "trades",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-100")), "post_trades.lua",
                 {**post_env, "BENCH_RUN": f"{run_id}h", "BENCH_BATCH": "100"}, connections=16,
                 trades_per_request=100),
        Scenario("post_batch_1000", "Trade POST, 1,000 trades/request", "trades",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-1000")), "post_trades.lua",
                 {**post_env, "BENCH_RUN": f"{run_id}k", "BENCH_BATCH": "1000"}, connections=8,
                 trades_per_request=1000),
        Scenario("post_batch_1000_distinct", "Trade POST, 1,000 trades/request, every trade another trader",
                 "trades", ("POST", "/v1/trades", one_trade(f"probe-{run_id}-1000d")), "post_trades.lua",
                 {"BENCH_TRADERS": "100000", "BENCH_SKEW": "0", "BENCH_RUN": f"{run_id}d", "BENCH_BATCH": "1000"},
                 connections=8, trades_per_request=1000),
        Scenario("get_top10", "Cached top-10 GET", "bare_get",
                 ("GET", f"/v1/leaderboards/{READ_BOARD}?period=day&limit=10", None), "get_fixed.lua",
                 {"BENCH_PATH": f"/v1/leaderboards/{READ_BOARD}?period=day&limit=10"}),
        Scenario("get_rank", "Member rank GET (random member of 100,000)", "http_get",
                 ("GET", f"{members}?period=day", None), "get_members.lua",
                 {**member_env, "BENCH_PATH": f"{members}?period=day"}),
        Scenario("get_around", "Around-me GET (size 10, random member of 100,000)", "http_get",
                 ("GET", f"{members}/around?period=day&size=10", None), "get_members.lua",
                 {**member_env, "BENCH_PATH": f"{members}/around?period=day&size=10"}),
    ]


def write_board_total(redis: Any) -> int:
    """Sum of every member's all-time score on the bench trades' board (cents)."""
    return sum(int(score) for _member, score in redis.zscan_iter(keys.all_time(WRITE_BOARD), count=10_000))


def wait_applied(redis: Any, expected_cents: int, timeout: float = APPLY_TIMEOUT_SECONDS) -> float | None:
    """Seconds until the bench board's total reaches `expected_cents`; None on timeout."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if write_board_total(redis) >= expected_cents:
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def run_http_scenario(base: str, token: str, scenario: Scenario, seconds: int, redis: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": scenario.name, "title": scenario.title, "ceiling": scenario.ceiling}
    missing = probe(base, token, *scenario.probe)
    if missing:
        return {**result, "available": False, "note": missing}
    if scenario.trades_per_request:
        time.sleep(0.5)  # the probe's trade reaches Redis
        before = write_board_total(redis)
    measured = load.wrk(base + "/", seconds, scenario.connections, scenario.script,
                        {**scenario.env, "BENCH_TOKEN": token})
    if scenario.trades_per_request:
        acknowledged = (measured.get("requests", 0) - measured["non_2xx"]) * scenario.trades_per_request
        measured["trades_per_second"] = acknowledged / measured["seconds"] if measured.get("seconds") else 0.0
        drained = wait_applied(redis, before + acknowledged * TRADE_NOTIONAL_CENTS)
        if drained is None:
            measured["note"] = "acknowledged trades were not all applied in time"
        else:
            measured["applied_trades_per_second"] = acknowledged / (measured["seconds"] + drained)
            measured["drain_seconds"] = drained
    return {**result, "available": True, **measured}


GLB_SCRIPTS = (("score", "glb_score.lua"), ("top", "glb_top.lua"), ("rank", "glb_rank.lua"))


def seed_glb_game(base: str, token: str, redis: Any) -> str | None:
    """Declare game-1 through the compat POST, then give GLB_PLAYERS players a score through the real apply
    path, so the mix's rank GETs find them. None when ready, else why not."""
    score = orjson.dumps({"game_id": int(GLB_GAME), "user_id": 42, "score": 1000,
                          "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    missing = probe(base, token, "POST", "/api/leaderboard/score", score)
    if missing:
        return missing
    settings = load_settings({"JWT_SECRET_KEY": "x" * 32})
    applier = Applier(redis, chunk_writes=settings.APPLY_CHUNK_WRITES, marker_ttl=settings.DEDUPE_WINDOW_SECONDS,
                      history_days=settings.HISTORY_DAYS)
    board = Board(f"game-{GLB_GAME}", f"Game {GLB_GAME}", "points", 0, "best", "game")
    rng = random.Random(3)
    applier.apply([score_write(board, str(user), rng.randrange(1, 100_000), f"bench-seed-{user}")
                   for user in range(1, GLB_PLAYERS + 1)])
    deadline = time.monotonic() + BOARD_VISIBLE_SECONDS * 3
    while time.monotonic() < deadline:  # every worker knows the board (its registry cache refreshed)
        answers = [requests.get(f"{base}/api/leaderboard/top/{GLB_GAME}?limit=10&window=24h", timeout=5).status_code
                   for _ in range(8)]
        if all(code == 200 for code in answers):
            return None
        time.sleep(0.5)
    return "game board not visible in every worker"


def run_glb_mix(base: str, token: str, seconds: int, redis: Any) -> dict[str, Any]:
    """go-leader-board's published run: its three wrk scripts' request shapes at once, against the compat
    routes (21 connections each)."""
    result: dict[str, Any] = {"name": "glb_mix", "title": "go-leader-board mix (score + top + rank together)",
                              "ceiling": "http_get"}
    missing = seed_glb_game(base, token, redis)
    if missing:
        return {**result, "available": False, "note": missing}
    env = {"BENCH_TOKEN": token, "BENCH_MEMBERS": str(GLB_PLAYERS)}
    running = {name: load.start_wrk(base + "/", seconds, 21, script, env) for name, script in GLB_SCRIPTS}
    parts = {name: load.finish_wrk(proc, seconds) for name, proc in running.items()}
    total = sum(p["requests_per_second"] for p in parts.values())
    return {**result, "available": True, "requests_per_second": total, "parts": parts,
            "p50_ms": max(p.get("p50_ms", 0) for p in parts.values()),
            "p99_ms": max(p.get("p99_ms", 0) for p in parts.values()),
            "non_2xx": sum(p["non_2xx"] for p in parts.values()),
            "command": " & ".join(p["command"] for p in parts.values())}


def stream_entries(count: int, seed: int, distinct: bool) -> tuple[list[bytes], int]:
    """`count` trades as stream entry payloads of STREAM_ENTRY_TRADES, and their total notional in cents.
    Realistic traffic comes from the mock producer's generator; `distinct` gives every trade of an entry its
    own trader (the apply step's worst case: nothing aggregates)."""
    now = datetime.now(UTC)
    payloads, total = [], 0
    generator = TradeGenerator(seed, STREAM_TRADERS)
    for start in range(0, count, STREAM_ENTRY_TRADES):
        size = min(STREAM_ENTRY_TRADES, count - start)
        if distinct:
            batch = [{"trade_id": f"d{seed}-{start + i}", "trader_id": f"stream-{start + i}", "symbol": "SOL",
                      "side": "buy", "quantity": "1", "price": "150"} for i in range(size)]
        else:
            batch = generator.next_batch(size)
        total += batch_cents(batch, now)
        payloads.append(orjson.dumps(batch))
    return payloads, total


def batch_cents(batch: list[dict[str, Any]], now: datetime) -> int:
    """The notional of a batch of trades on all-volume, in cents, as the service computes it."""
    return sum(w.increments[1].amount for w in map(trade_write, parse_trades(
        {"trades": batch}, now, STREAM_ENTRY_TRADES, 5, 10**13)))


def all_volume_total(redis: Any) -> int:
    return sum(int(score) for _member, score in redis.zscan_iter(keys.all_time("all-volume"), count=10_000))


def run_stream_ingestion(redis: Any, count: int, consumers: int, distinct: bool, seed: int) -> dict[str, Any]:
    """Trades/s from the first XADD until the consumer group has acknowledged every entry (an entry is
    acknowledged in the transaction that applies its last trades); then the all-volume total is checked."""
    shape = "every trade another trader" if distinct else "mock producer's traders"
    name = f"stream_ingest_{consumers}c" + ("_distinct" if distinct else "")
    result: dict[str, Any] = {
        "name": name, "ceiling": "trades",
        "title": f"Stream ingestion, {count:,} trades, {consumers} consumer(s), {shape} (XADD -> applied)",
    }
    payloads, expected = stream_entries(count, seed, distinct)
    before = all_volume_total(redis)
    started = time.perf_counter()
    pipe = redis.pipeline(transaction=False)
    for payload in payloads:
        pipe.xadd(keys.trade_stream(), {"trades": payload})
    pipe.execute()
    added = time.perf_counter()
    while time.perf_counter() - started < APPLY_TIMEOUT_SECONDS:
        if stream_drained(redis, defaults.CONSUMER_GROUP):  # the consumers run with the default group
            elapsed = time.perf_counter() - started
            applied = all_volume_total(redis) - before
            return {**result, "available": True, "trades_per_second": count / elapsed, "seconds": elapsed,
                    "xadd_seconds": added - started, "exact": applied == expected,
                    "dead_letters": redis.xlen(keys.trade_stream_dead())}
        time.sleep(0.01)
    return {**result, "available": False, "note": f"not drained within {APPLY_TIMEOUT_SECONDS} s"}

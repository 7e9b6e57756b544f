"""The service's scenarios against the running API. A scenario whose endpoint answers 404/405 is reported
"not available" (its part of the service is not on this branch) instead of failing the run."""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import requests

from leaderboard.auth.users import UserStore
from leaderboard.ranking import keys

from . import load

READ_BOARD = "eth"  # board populated for the read scenarios
READ_MEMBERS = 100_000  # members put on it (reader-0 .. reader-N-1)
STREAM_TRADERS = 1000  # distinct traders of the stream scenario
TRADE_NOTIONAL_CENTS = 15_000  # every bench trade: 1 SOL at 150 USD, so sums are exact
APPLY_TIMEOUT_SECONDS = 120.0  # longest wait for streamed trades to be applied


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
        return f"not yet available on this branch ({method} {path.split('?')[0]} -> {response.status_code})"
    if response.status_code >= 400:
        return f"probe answered {response.status_code}: {response.text[:160]}"
    return None


def one_trade(trade_id: str) -> bytes:
    return orjson.dumps({"trade_id": trade_id, "trader_id": "bench-probe", "symbol": "SOL", "side": "buy",
                         "quantity": "1", "price": "150"})


def http_scenarios(run_id: str) -> list[Scenario]:
    post_env = {"BENCH_RUN": run_id, "BENCH_TRADERS": "1000"}
    member_env = {"BENCH_MEMBERS": str(READ_MEMBERS)}
    members = f"/v1/leaderboards/{READ_BOARD}/members/reader-%d"
    return [
        Scenario("post_single", "Trade POST, 1 trade/request", "http_post",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-1")), "post_trades.lua",
                 {**post_env, "BENCH_BATCH": "0"}, trades_per_request=1),
        Scenario("post_batch_100", "Trade POST, 100 trades/request", "trades",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-100")), "post_trades.lua",
                 {**post_env, "BENCH_BATCH": "100"}, connections=16, trades_per_request=100),
        Scenario("post_batch_1000", "Trade POST, 1,000 trades/request", "trades",
                 ("POST", "/v1/trades", one_trade(f"probe-{run_id}-1000")), "post_trades.lua",
                 {**post_env, "BENCH_BATCH": "1000"}, connections=8, trades_per_request=1000),
        Scenario("get_top10", "Cached top-10 GET", "http_get",
                 ("GET", f"/v1/leaderboards/{READ_BOARD}?period=day&limit=10", None), "get_fixed.lua",
                 {"BENCH_PATH": f"/v1/leaderboards/{READ_BOARD}?period=day&limit=10"}),
        Scenario("get_rank", "Member rank GET", "http_get", ("GET", f"{members}?period=day", None),
                 "get_members.lua", {**member_env, "BENCH_PATH": f"{members}?period=day"}),
        Scenario("get_around", "Around-me GET (size 10)", "http_get",
                 ("GET", f"{members}/around?period=day&size=10", None), "get_members.lua",
                 {**member_env, "BENCH_PATH": f"{members}/around?period=day&size=10"}),
    ]


def run_http_scenario(base: str, token: str, scenario: Scenario, seconds: int) -> dict[str, Any]:
    result: dict[str, Any] = {"name": scenario.name, "title": scenario.title, "ceiling": scenario.ceiling}
    missing = probe(base, token, *scenario.probe)
    if missing:
        return {**result, "available": False, "note": missing}
    measured = load.wrk(base + "/", seconds, scenario.connections, scenario.script,
                        {**scenario.env, "BENCH_TOKEN": token})
    if scenario.trades_per_request:
        measured["trades_per_second"] = measured["requests_per_second"] * scenario.trades_per_request
    return {**result, "available": True, **measured}


GLB_SCRIPTS = (("score", "glb_score.lua"), ("top", "glb_top.lua"), ("rank", "glb_rank.lua"))


def run_glb_mix(base: str, token: str, seconds: int) -> dict[str, Any]:
    """go-leader-board's published run: its three request shapes at once against the compat routes."""
    result: dict[str, Any] = {"name": "glb_mix", "title": "go-leader-board mix (score + top + rank together)",
                              "ceiling": "http_get"}
    score = orjson.dumps({"game_id": 1, "user_id": 42, "score": 1000,
                          "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    for method, path, body in (("POST", "/api/leaderboard/score", score),
                               ("GET", "/api/leaderboard/top/1?limit=10&window=24h", None),
                               ("GET", "/api/leaderboard/rank/1/42?window=24h", None)):
        missing = probe(base, token, method, path, body)
        if missing:
            return {**result, "available": False, "note": missing}
    env = {"BENCH_TOKEN": token, "BENCH_MEMBERS": "10000"}
    running = {name: load.start_wrk(base + "/", seconds, 21, script, env) for name, script in GLB_SCRIPTS}
    parts = {name: load.finish_wrk(proc, seconds) for name, proc in running.items()}
    total = sum(p["requests_per_second"] for p in parts.values())
    return {**result, "available": True, "requests_per_second": total, "parts": parts,
            "p50_ms": max(p.get("p50_ms", 0) for p in parts.values()),
            "p99_ms": max(p.get("p99_ms", 0) for p in parts.values()),
            "non_2xx": sum(p["non_2xx"] for p in parts.values())}


def run_stream_ingestion(redis: Any, count: int, consumer_available: bool, run_id: str) -> dict[str, Any]:
    """Trades/s from the first XADD until every trade is applied (the all-time scores of the stream's
    traders add up to the expected total)."""
    result: dict[str, Any] = {"name": "stream_ingest", "title": f"Stream ingestion ({count:,} trades, end to end)",
                              "ceiling": "trades"}
    if not consumer_available:
        return {**result, "available": False, "note": "not yet available on this branch (no `leaderboard consume`)"}
    traders = [f"stream-{i}" for i in range(STREAM_TRADERS)]
    entries = []
    for start in range(0, count, 1000):
        batch = [{"trade_id": f"st{run_id}-{n}", "trader_id": traders[n % STREAM_TRADERS], "symbol": "SOL",
                  "side": "buy", "quantity": "1", "price": "150"} for n in range(start, min(start + 1000, count))]
        entries.append({"trades": orjson.dumps(batch)})
    expected = count * TRADE_NOTIONAL_CENTS
    started = time.perf_counter()
    pipe = redis.pipeline(transaction=False)
    for fields in entries:
        pipe.xadd(keys.trade_stream(), fields)
    pipe.execute()
    added = time.perf_counter()
    deadline = started + APPLY_TIMEOUT_SECONDS
    applied = 0.0
    while time.perf_counter() < deadline:
        applied = sum(s or 0 for s in redis.zmscore(keys.all_time("sol"), traders))
        if applied >= expected:
            elapsed = time.perf_counter() - started
            return {**result, "available": True, "trades_per_second": count / elapsed, "seconds": elapsed,
                    "xadd_seconds": added - started}
        time.sleep(0.02)
    done = applied / TRADE_NOTIONAL_CENTS
    return {**result, "available": False,
            "note": f"only {done:,.0f} of {count:,} trades applied in {APPLY_TIMEOUT_SECONDS} s"}

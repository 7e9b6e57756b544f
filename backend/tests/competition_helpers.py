"""Helpers of the competition tests: times, a competition body, posting trades and reading the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leaderboard.clock import iso, to_ms

from .write_helpers import drain, trade

# Most tests create a competition whose window began (or ended) before the test: as if it had been created back
# then (the trades are posted after the creation, so all of them count). The API refuses such a start by default.
STARTED_EARLIER = {"COMPETITION_START_SKEW_SECONDS": 3 * 3600}


def at(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


def window(start_offset_s: float, length_s: float) -> tuple[int, int]:
    """(starts_at ms, ends_at ms) of a window starting `start_offset_s` from now (negative: in the past)."""
    now = to_ms(datetime.now(UTC))
    starts = now + int(start_offset_s * 1000)
    return starts, starts + int(length_s * 1000)


def competition(comp_id: str, starts: int, ends: int, **extra: Any) -> dict[str, Any]:
    return {"id": comp_id, "title": f"Cup {comp_id}", "metric": "volume", "starts_at": at(starts),
            "ends_at": at(ends), **extra}


def create(client: Any, admin: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/competitions", json=body, headers=admin)
    assert response.status_code == 201, response.json
    result: dict[str, Any] = response.json
    return result


def post_trades(client: Any, app: Any, service: dict[str, str], rows: list[tuple[str, str, str, int]],
                symbol: str = "BTC") -> None:
    """rows: (trade id, trader, notional in USD as a quantity of 1 at that price, event time ms)."""
    trades = [trade(tid, trader, symbol, "1", usd, ts=ms) for tid, trader, usd, ms in rows]
    response = client.post("/v1/trades", json={"trades": trades}, headers=service)
    assert response.status_code == 202, response.json
    drain(app)


def board(client: Any, comp_id: str, limit: int = 100) -> list[tuple[int, str, str]]:
    response = client.get(f"/v1/competitions/{comp_id}/leaderboard?limit={limit}")
    assert response.status_code == 200, response.json
    return [(e["rank"], e["user_id"], e["score"]) for e in response.json["entries"]]


def member(client: Any, comp_id: str, user_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/competitions/{comp_id}/members/{user_id}")
    assert response.status_code == 200, response.json
    result: dict[str, Any] = response.json
    return result


def hours_ago(hours: float) -> int:
    return to_ms(datetime.now(UTC) - timedelta(hours=hours))


def mentions(redis: Any, needle: bytes) -> list[str]:
    """Every key whose name or content mentions `needle`."""
    found = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key).decode()
        if kind == "string":
            values = [redis.get(key) or b""]
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        elif kind == "hash":
            values = [part for pair in redis.hgetall(key).items() for part in pair]
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        else:
            values = [b""]
        if needle in key or any(needle in value for value in values):
            found.append(key.decode())
    return found

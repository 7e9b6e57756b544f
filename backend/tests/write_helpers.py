"""Helpers of the write-path tests: trade bodies, reading what landed in Redis, and the oracle."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leaderboard import keys
from leaderboard.ranking.boards import SYMBOLS

BOARDS = [*(s.board for s in SYMBOLS.values()), "all-volume"]


def trade(trade_id: str, trader: str = "alice", symbol: str = "BTC", quantity: Any = "1.5",
          price: Any = "100.25", **extra: Any) -> dict[str, Any]:
    return {"trade_id": trade_id, "trader_id": trader, "symbol": symbol, "side": "buy", "quantity": quantity,
            "price": price, **extra}


def notional_cents(quantity: Any, price: Any) -> int:
    value = Decimal(str(quantity)) * Decimal(str(price))
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def oracle(trades: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """board -> trader -> cents: each (trader_id, trade_id) counted once (the first one seen)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: set[tuple[str, str]] = set()
    for item in trades:
        if (item["trader_id"], item["trade_id"]) in seen:
            continue
        seen.add((item["trader_id"], item["trade_id"]))
        cents = notional_cents(item["quantity"], item["price"])
        totals[SYMBOLS[item["symbol"]].board][item["trader_id"]] += cents
        totals["all-volume"][item["trader_id"]] += cents
    return {board: dict(members) for board, members in totals.items()}


def zset(redis: Any, key: str) -> dict[str, int]:
    return {member.decode(): int(score) for member, score in redis.zrange(key, 0, -1, withscores=True)}


def all_time_totals(redis: Any) -> dict[str, dict[str, int]]:
    found = {board: zset(redis, keys.all_time(board)) for board in BOARDS}
    return {board: members for board, members in found.items() if members}


def wait_all_time_totals(redis: Any, expected: dict[str, dict[str, int]], timeout: float,
                         poll: float = 0.05) -> dict[str, dict[str, int]]:
    """The all-time totals once they equal `expected`, or as they are after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    found = all_time_totals(redis)
    while found != expected and time.monotonic() < deadline:
        time.sleep(poll)
        found = all_time_totals(redis)
    return found


def wait_stream_drained(redis: Any, timeout: float, poll: float = 0.05, group: str = "leaderboard") -> None:
    """Wait until the consumer group has been handed every trade-stream entry and acknowledged them all."""
    from leaderboard.ingest.consumer import stream_drained

    deadline = time.monotonic() + timeout
    while not stream_drained(redis, group):
        if time.monotonic() > deadline:
            raise AssertionError(f"stream not drained: {redis.xinfo_groups(keys.trade_stream())}")
        time.sleep(poll)


def day_of(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def drain(app: Any, timeout: float = 10.0) -> None:
    from leaderboard.api.write_path import current_ingest

    with app.app_context():
        assert current_ingest().drain(timeout), "the flusher did not empty the buffer in time"


def token_headers(app: Any, username: str, role: str) -> dict[str, str]:
    """Authorization headers for `username` with `role`, minted like a login would (without the password
    hashing cost, which is what makes logins slow on purpose)."""
    from leaderboard.auth.tokens import issue_tokens
    from leaderboard.auth.users import User

    with app.test_request_context():
        tokens = issue_tokens(User(username, username, role))
    return {"Authorization": f"Bearer {tokens['access_token']}"}

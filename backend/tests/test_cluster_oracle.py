"""The whole service on a real 3-master Redis Cluster (REDIS_CLUSTER=1) against a brute-force oracle: trades
through POST /v1/trades (WAL, buffer, flusher), scores (actions, the compat route), the stream consumer, the
scheduler's jobs (snapshot refresh, windows, rollover with archive/prune/expire), then every read (top lists,
member ranks, percentiles, around-me, member lists, archived days) on every board and period."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from leaderboard import create_app, keys
from leaderboard.ingest.consumer import TradeStreamConsumer
from leaderboard.jobs import tasks
from leaderboard.jobs.scheduler import run_job
from leaderboard.ranking.boards import SYMBOLS
from leaderboard.ranking.periods import PERIODS, Period, day_bucket, hour_bucket, in_window

from .helpers import TEST_SECRET, ManualClock, around_rows, drain, notional_cents, read_cache_of, token_headers, trade

pytestmark = pytest.mark.slow

HISTORY_DAYS = 2
TOP_N = 6
TRADERS = [f"t{i:02d}" for i in range(12)]
PLAYERS = [f"p{i}" for i in range(6)]


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture()
def app(redis_cluster, tmp_path, clock):
    app = create_app({
        "REDIS_URL": redis_cluster.url, "REDIS_CLUSTER": True, "JWT_SECRET_KEY": TEST_SECRET,
        "DATA_DIR": tmp_path / "data", "DEV_MODE": False, "CLOCK": clock, "HISTORY_DAYS": HISTORY_DAYS,
        "SNAPSHOT_TOP_N": TOP_N, "BUFFER_MAX_AGE_MS": 20,
    })
    yield app
    client = app.extensions.get("leaderboard.redis")
    if client is not None:
        client.close()


def redis_of(app: Any) -> Any:
    from leaderboard.redis_conn import get_redis

    with app.app_context():
        return get_redis()


class Oracle:
    """Every write that counted: (board, mode, member, minor units, event time)."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, str, int, datetime]] = []

    def trade(self, item: dict[str, Any]) -> None:
        cents = notional_cents(item["quantity"], item["price"])
        ts = datetime.fromisoformat(item["ts"])
        for board in (SYMBOLS[item["symbol"]].board, "all-volume"):
            self.writes.append((board, "sum", item["trader_id"], cents, ts))

    def ranked(self, board: str, counts: Any) -> list[tuple[int, str, int]]:
        """[(rank, member, score)] best first; a tie ordered by member id, descending bytes."""
        totals: dict[str, int] = {}
        for b, mode, member, value, ts in self.writes:
            if b == board and counts(ts):
                current = totals.get(member)
                totals[member] = (current or 0) + value if mode == "sum" else max(current or 0, value)
        order = sorted(totals.items(), key=lambda kv: kv[0].encode(), reverse=True)
        order.sort(key=lambda kv: -kv[1])
        return [(1 + sum(1 for s in totals.values() if s > score), member, score) for member, score in order]


def fmt(minor: int, decimals: int) -> str:
    return format(Decimal(minor).scaleb(-decimals), "f")


def make_trades(rng: random.Random, now: datetime, count: int) -> list[dict[str, Any]]:
    trades = []
    for i in range(count):
        symbol = rng.choice(list(SYMBOLS))
        age = rng.randint(120, 80 * 3600)  # today, yesterday, the day before and older: every period differs
        ts = (now - timedelta(seconds=age)).replace(microsecond=0).isoformat()
        if i % 9 == 0:  # equal notionals on one board, so ties happen
            trades.append(trade(f"h{i}", rng.choice(TRADERS[:4]), "SOL", "2", "10.5", ts=ts))
        else:
            quantity, price = f"{rng.randint(1, 4000) / 1000}", f"{rng.randint(100, 900000) / 100}"
            trades.append(trade(f"h{i}", rng.choice(TRADERS), symbol, quantity, price, ts=ts))
    return trades


def test_writes_jobs_and_reads_on_a_cluster_match_the_oracle(app, redis_cluster, clock):
    client = app.test_client()
    redis = redis_of(app)
    rng = random.Random(20261122)
    now = clock.now
    oracle = Oracle()
    venue = token_headers(app, "venue", "service")

    # --- trades over HTTP: singles and batches, client retries, invalid requests -------------------------
    trades = make_trades(rng, now, 240)
    sent = 0
    while sent < len(trades):
        size = rng.choice([1, 1, 5, 20])
        chunk = trades[sent : sent + size]
        body = chunk[0] if size == 1 else {"trades": chunk}
        assert client.post("/v1/trades", json=body, headers=venue).status_code == 202
        if rng.random() < 0.2:  # a retry of an acknowledged request counts nothing more
            assert client.post("/v1/trades", json=body, headers=venue).status_code == 202
        sent += size
    for item in trades:
        oracle.trade(item)
    bad = client.post("/v1/trades", json={"trades": [trade("x1", ts=now.isoformat()), trade("x2", quantity="0")]},
                      headers=venue)
    assert bad.status_code == 422

    # --- scores: actions + /v1/scores on the `best` scores board, and the compat route's game board ------
    for _ in range(14):
        player, score = rng.choice(PLAYERS), rng.choice([10, 20, 30, 40])
        action = client.post("/v1/actions", json={}, headers=venue).json["action_id"]
        before = datetime.now(UTC)
        assert client.post("/v1/scores", json={"user_id": player, "score": score, "action_id": action},
                           headers=venue).status_code == 202
        oracle.writes.append(("scores", "best", player, score, before))
    for _ in range(10):
        player, score = rng.choice(PLAYERS), rng.choice([5, 7, 9])
        ts = (now - timedelta(hours=rng.randint(0, 60), minutes=2)).replace(microsecond=0)
        body = {"game_id": 1, "user_id": player, "score": score, "timestamp": ts.isoformat()}
        assert client.post("/api/leaderboard/score", json=body, headers=venue).status_code == 200
        oracle.writes.append(("game-1", "best", player, score, ts))
    drain(app)

    # --- the stream consumer (XACK after the board transactions: the stream is another slot) -------------
    settings = app.config["SETTINGS"]
    consumer = TradeStreamConsumer(settings, redis, name="cluster-consumer")
    assert consumer.applier.ack_in_transaction is False
    consumer.ensure_group()
    streamed = make_trades(rng, now, 30)
    streamed = [{**item, "trade_id": f"s-{item['trade_id']}"} for item in streamed]
    redelivered = trades[:5]  # already applied over HTTP: count once
    for entry in (streamed[:15], streamed[15:], redelivered):
        redis.xadd(keys.trade_stream(), {"trades": orjson.dumps(entry)})
    redis.xadd(keys.trade_stream(), {"trades": orjson.dumps([{**trade("bad"), "side": "hold"}])})
    consumer.process(consumer.read_new())
    for item in streamed:
        oracle.trade(item)
    assert redis.xpending(keys.trade_stream(), settings.CONSUMER_GROUP)["pending"] == 0
    assert redis.xlen(keys.trade_stream_dead()) == 1

    # every board's keys are spread over the masters (the cluster really shards them)
    nodes_with_boards = [port for port in redis_cluster.ports if redis_cluster.node(port).keys("lb:{*}:all")]
    assert len(nodes_with_boards) >= 2

    # --- reads before any job: lists built live by the API --------------------------------------------
    clock.now = datetime.now(UTC)
    check_every_read(client, oracle, clock.now)

    # --- the scheduler's jobs: a stale history entry and a dead hour bucket for rollover to clean ---------
    clock.advance(seconds=1)  # the scheduler's snapshots are newer than the ones the API built live
    today = day_bucket(clock.now)
    stale_day = today - timedelta(days=HISTORY_DAYS + 3)
    redis.zadd(keys.history_index("btc"), {stale_day.isoformat(): int(datetime(
        stale_day.year, stale_day.month, stale_day.day, tzinfo=UTC).timestamp())})
    dead_hour = keys.hour("eth", hour_bucket(clock.now) - timedelta(hours=7 * 24 + 1))
    redis.zadd(dead_hour, {"ghost": 1})
    for job in (tasks.ROLLOVER, tasks.WINDOWS, tasks.REFRESH):
        assert run_job(job, redis, settings, clock) == "ran", job
    rollover = orjson.loads(redis.hget(keys.job_state(tasks.ROLLOVER), "result"))
    archived_days = {(b, day_bucket(ts)) for b, _m, _p, _v, ts in oracle.writes
                     if today - timedelta(days=HISTORY_DAYS) <= day_bucket(ts) < today}
    assert rollover["archived"] == len(archived_days)
    assert rollover["pruned"] == 1 and redis.zscore(keys.history_index("btc"), stale_day.isoformat()) is None
    assert rollover["expired_keys"] >= 1 and not redis.exists(dead_hour)
    for board, day in archived_days:
        assert redis.zscore(keys.history_index(board), day.isoformat()) is not None

    # --- reads after the jobs: lists from the scheduler's snapshots, archived days -----------------------
    read_cache_of(app).clear()
    check_every_read(client, oracle, clock.now, from_snapshot=True)
    for board, day in sorted(archived_days):
        expected = oracle.ranked(board, lambda ts, day=day: day_bucket(ts) == day)
        decimals = 0 if board in ("scores", "game-1") else 2
        listed = list_pages(client, f"/v1/leaderboards/{board}/history/{day.isoformat()}?limit=5")
        assert listed == [(r, m, fmt(s, decimals)) for r, m, s in expected], (board, day)


def list_pages(client: Any, url: str) -> list[tuple[int, str, str]]:
    rows, cursor = [], None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        body = response.json
        rows += [(e["rank"], e["user_id"], e["score"]) for e in body["entries"]]
        cursor = body["next_cursor"]
        if not cursor:
            return rows


def check_every_read(client: Any, oracle: Oracle, now: datetime, from_snapshot: bool = False) -> None:
    boards = [*(s.board for s in SYMBOLS.values()), "all-volume", "scores", "game-1"]
    for board in boards:
        decimals = 0 if board in ("scores", "game-1") else 2
        members = TRADERS if decimals == 2 else PLAYERS
        for period in PERIODS:
            expected = oracle.ranked(board, lambda ts, period=period: in_window(period, ts, now))
            base = f"/v1/leaderboards/{board}"
            first = client.get(f"{base}?period={period.value}&limit=3").json
            assert first["total"] == len(expected), (board, period)
            if from_snapshot:
                assert first["source"] != "live", (board, period, first["source"])
            listed = list_pages(client, f"{base}?period={period.value}&limit=3")
            want = [(r, m, fmt(s, decimals)) for r, m, s in expected[:TOP_N]]
            assert listed == want, (board, period)
            check_members(client, base, period, expected, decimals, members)


def check_members(client: Any, base: str, period: Period, expected: list[tuple[int, str, int]], decimals: int,
                  members: list[str]) -> None:
    for position, (rank, member, score) in enumerate(expected):
        view = client.get(f"{base}/members/{member}?period={period.value}").json
        assert (view["rank"], view["score"], view["total"]) == (rank, fmt(score, decimals), len(expected))
        exact = Decimal(100) * (len(expected) - rank + 1) / len(expected)
        assert view["percentile"] == float(exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
        size = 1 + position % 5
        around = client.get(f"{base}/members/{member}/around?period={period.value}&size={size}").json
        assert [(e["rank"], e["user_id"], e["score"]) for e in around["entries"]] == [
            (r, m, fmt(s, decimals)) for r, m, s in around_rows(expected, position, size)]
    scored = {m for _r, m, _s in expected}
    listed = client.get(f"{base}/members?period={period.value}&ids={','.join(members)}").json
    assert [(e["rank"], e["user_id"]) for e in listed["entries"]] == [(r, m) for r, m, _s in expected]
    assert sorted(listed["missing"]) == sorted(set(members) - scored)

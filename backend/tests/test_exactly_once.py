"""Exactly once across crashes at every point of a flush, and across a Redis outage; a property test
against a brute-force oracle."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.embedded_redis import EmbeddedRedis
from leaderboard.ingest.flusher import CRASH_AFTER_EXEC, CRASH_BETWEEN_BOARDS, CRASH_EXIT_CODE
from leaderboard.ingest.runtime import IngestRuntime
from leaderboard.ingest.validation import parse_trade
from leaderboard.ingest.writes import trade_write
from leaderboard.ranking.periods import day_bucket, day_bucket_expiry, hour_bucket, hour_bucket_expiry

from .helpers import (
    BOARDS,
    all_time_totals,
    assert_error,
    notional_cents,
    oracle,
    sample_trades,
    token_headers,
    trade,
    zset,
)

CHILD = Path(__file__).with_name("ingest_child.py")


def runtime_settings(redis_url: str, data_dir: Path, **overrides):
    return load_settings({"REDIS_URL": redis_url, "DATA_DIR": data_dir, "JWT_SECRET_KEY": "x" * 40,
                          "BUFFER_MAX_AGE_MS": 20, **overrides}, environ={})


@pytest.mark.slow
@pytest.mark.parametrize("crash_point", [CRASH_AFTER_EXEC, CRASH_BETWEEN_BOARDS])
def test_a_crash_at_any_point_of_a_flush_is_replayed_exactly_once(redis_client, redis_url, tmp_path, crash_point):
    trades = sample_trades(60)
    trades_file = tmp_path / "trades.json"
    trades_file.write_bytes(orjson.dumps(trades))
    data_dir = tmp_path / "data"
    child = subprocess.run([sys.executable, str(CHILD), redis_url, str(data_dir), crash_point, str(trades_file)],
                           timeout=60, capture_output=True)
    assert child.returncode == CRASH_EXIT_CODE, child.stderr.decode()[-2000:]
    expected = oracle(trades)
    before = all_time_totals(redis_client)
    if crash_point == CRASH_BETWEEN_BOARDS:
        assert before and before != expected  # some boards applied, some not
    else:
        assert before == expected  # everything applied, but the WAL was never trimmed
    assert list((data_dir / "wal").glob("wal-*.log"))

    survivor = IngestRuntime(runtime_settings(redis_url, data_dir)).start()  # claims the dead WAL
    assert survivor.drain(10)
    survivor.stop()
    assert all_time_totals(redis_client) == expected
    assert list((data_dir / "wal").glob("wal-*.log")) == []


def test_an_exec_whose_reply_was_lost_is_retried_without_double_counting(redis_client, redis_url, tmp_path):
    runtime = IngestRuntime(runtime_settings(redis_url, tmp_path)).start()
    real_apply = runtime.applier.apply
    calls = []

    def apply_then_lose_the_reply(writes, ack=None):
        real_apply(writes, ack)
        calls.append(len(writes))
        if len(calls) == 1:
            from redis.exceptions import ConnectionError as RedisConnectionError

            raise RedisConnectionError("reply lost")
        return 0

    runtime.applier.apply = apply_then_lose_the_reply  # type: ignore[method-assign]
    trades = sample_trades(20)
    now = datetime.now(UTC)
    runtime.submit([trade_write(parse_trade(t, now, 5, 10**13)) for t in trades])
    assert runtime.drain(10)
    runtime.stop()
    assert len(calls) >= 2
    assert all_time_totals(redis_client) == oracle(trades)


@pytest.fixture()
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "own-redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture()
def app_config(app_config, own_redis):
    return {**app_config, "REDIS_URL": own_redis.url, "BUFFER_MAX_PENDING": 40, "BUFFER_MAX_AGE_MS": 20,
            "FLUSH_RETRY_MAX_SECONDS": 0.2, "REDIS_SOCKET_TIMEOUT": 0.5, "REVOCATION_CACHE_SECONDS": 0.01}


@pytest.mark.slow
def test_redis_outage_accepts_until_the_limit_then_503_and_catches_up(app, client, own_redis, tmp_path):
    import redis as redis_lib

    service = token_headers(app, "venue", "service")
    assert client.post("/v1/trades", json=trade("warm"), headers=service).status_code == 202  # starts the runtime
    own_redis.stop()
    accepted = [trade("warm")]
    for i in range(4):
        batch = [trade(f"o{i}-{j}", f"t{j}") for j in range(10)]
        status = client.post("/v1/trades", json={"trades": batch}, headers=service).status_code
        if status == 202:
            accepted += batch
    assert len(accepted) >= 31  # 40 pending max: three batches of 10 (and maybe "warm") fit
    refused = client.post("/v1/trades", json={"trades": [trade(f"x{j}") for j in range(10)]}, headers=service)
    assert_error(refused, 503, "buffer_full")
    assert refused.headers["Retry-After"]
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json["checks"]["ingest"]["state"] in ("degraded", "full")

    restarted = EmbeddedRedis(own_redis.directory, port=own_redis.port).start()  # same dir: AOF brings data back
    from leaderboard.api.write_path import current_ingest

    with app.app_context():
        assert current_ingest().drain(15)
        assert current_ingest().flusher.state == "ok"
    check = redis_lib.Redis.from_url(own_redis.url)
    try:
        assert all_time_totals(check) == oracle(accepted)
    finally:
        check.close()
        with app.app_context():
            current_ingest().stop()
        restarted.stop()


# --- property: any sequence of trades gives the brute-force totals per board and period bucket -----------
_now = datetime.now(UTC).replace(microsecond=0)
trade_strategy = st.fixed_dictionaries({
    "trade_id": st.uuids().map(lambda u: u.hex[:12]),
    "trader_id": st.sampled_from(["ann", "ben", "cy"]),
    "symbol": st.sampled_from(["BTC", "SOL"]),
    "side": st.sampled_from(["buy", "sell"]),
    "quantity": st.decimals(min_value="0.000001", max_value="1000", places=6).map(str),
    "price": st.decimals(min_value="0.01", max_value="100000", places=2).map(str),
    "ts": st.integers(min_value=0, max_value=9 * 24 * 3600 - 600).map(
        lambda s: int((_now - timedelta(seconds=s)).timestamp() * 1000)),  # out of order, across days/hours
}).filter(lambda t: notional_cents(t["quantity"], t["price"]) >= 1)  # a 0.00 trade is refused (MIN_TRADE_NOTIONAL)


@st.composite
def trade_batches(draw):
    """Batches of trades where some trades come again (a client retry, in the same or a later batch)."""
    batches = draw(st.lists(st.lists(trade_strategy, min_size=1, max_size=15), min_size=1, max_size=5))
    sent = [t for batch in batches for t in batch]
    for batch in batches:
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            batch.insert(draw(st.integers(0, len(batch))), dict(draw(st.sampled_from(sent))))
    return batches


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=trade_batches(), chunk=st.integers(min_value=1, max_value=10))
def test_any_sequence_of_trades_matches_the_brute_force_oracle(redis_client, redis_url, tmp_path_factory,
                                                               batches, chunk):
    redis_client.flushall()
    runtime = IngestRuntime(runtime_settings(redis_url, tmp_path_factory.mktemp("p"), APPLY_CHUNK_WRITES=chunk,
                                             HISTORY_DAYS=5)).start()
    try:
        for batch in batches:
            runtime.submit([trade_write(parse_trade(t, _now, 5, 10**13)) for t in batch])
            if len(batch) % 2:
                runtime.drain(10)
        assert runtime.drain(10)
    finally:
        runtime.stop()
    expected: dict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for item in (t for batch in batches for t in batch):
        if item["trade_id"] in seen:
            continue
        seen.add(item["trade_id"])
        ts = datetime.fromtimestamp(item["ts"] / 1000, UTC)
        cents = notional_cents(item["quantity"], item["price"])
        now = datetime.now(UTC)
        for board in (item["symbol"].lower(), "all-volume"):
            targets = [keys.all_time(board)]
            if hour_bucket_expiry(hour_bucket(ts)) > now:  # buckets past their reach are not written
                targets.append(keys.hour(board, hour_bucket(ts)))
            if day_bucket_expiry(day_bucket(ts), 5) > now:
                targets.append(keys.day(board, day_bucket(ts)))
            for key in targets:
                expected[f"{key}|{item['trader_id']}"] += cents
    actual = {}
    for key in redis_client.scan_iter("lb:{*}:*"):
        if b":seen:" in key or b":live:" in key:  # exactly-once markers, live change marks
            continue
        for member, score in zset(redis_client, key.decode()).items():
            actual[f"{key.decode()}|{member}"] = score
    assert actual == dict(expected)
    assert set(BOARDS) >= {k.split("}")[0].split("{")[1] for k in actual}

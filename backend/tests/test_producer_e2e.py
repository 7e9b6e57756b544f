"""`leaderboard produce` end to end: the real producer process against the real API (gunicorn, HTTP, a service
account) and against the Redis Stream with the real `leaderboard consume`. The oracle is the same seed's
trades generated in-process: every board's all-time totals must equal it exactly, also after the same run is
sent a second time (same seed, same trade ids: nothing counts twice)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from leaderboard import keys
from leaderboard.auth.users import UserStore
from leaderboard.producer.market import TradeGenerator
from leaderboard.ranking import store

from .helpers import (
    TEST_SECRET,
    all_time_totals,
    oracle,
    producer_env,
    serve,
    stop_consumer,
    stream_consumer,
    wait_all_time_totals,
    wait_stream_drained,
)

pytestmark = pytest.mark.slow

SEED = 20261122
TRADERS = 40
COUNT = 3000
PRODUCE_TIMEOUT_SECONDS = 40  # one producer run; the whole test stays under a minute
APPLIED_TIMEOUT_SECONDS = 15  # acknowledged trades are in Redis within BUFFER_MAX_AGE_MS; this is slack


def expected_totals() -> dict[str, dict[str, int]]:
    return oracle(TradeGenerator(SEED, TRADERS).next_batch(COUNT))


def produce(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "leaderboard", "produce", "--seed", str(SEED), "--traders", str(TRADERS),
            "--count", str(COUNT), "--rate", "0", "--batch-size", "250", *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PRODUCE_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"acknowledged {COUNT:,}, rejected 0" in done.stderr, done.stderr[-2000:]
    return done


def test_http_producer_totals_equal_the_seed_oracle_also_when_resent(tmp_path, redis_url, redis_client):
    expected = expected_totals()
    assert set(expected) == {"btc", "eth", "sol", "usdc", "arb", "all-volume"}  # every symbol traded
    password = "producer-password-0123"
    UserStore(redis_client).create("feed-e2e", password, "Feed", "service")
    with serve(tmp_path, REDIS_URL=redis_url, JWT_SECRET_KEY=TEST_SECRET, DEV_MODE="0",
               WRITE_RATE_LIMIT="100000 per second") as served:
        env = producer_env(redis_url, tmp_path)
        credentials = ("--target", "http", "--url", served.base, "--username", "feed-e2e", "--password", password,
                       "--concurrency", "4")
        produce(env, *credentials)
        assert wait_all_time_totals(redis_client, expected, APPLIED_TIMEOUT_SECONDS) == expected
        produce(env, *credentials)  # the same seed again: the same trade ids, counted once
        time.sleep(0.5)  # longer than BUFFER_MAX_AGE_MS: a second count would have landed by now
        assert all_time_totals(redis_client) == expected

        # the API answers the same numbers: member views of the busiest and the quietest trader, and the top 10
        board = expected["all-volume"]
        ranked = sorted(board.items(), key=lambda item: (-item[1], tuple(-b for b in item[0].encode())))
        for position in (0, len(ranked) - 1):
            member, cents = ranked[position]
            answer = requests.get(f"{served.base}/v1/leaderboards/all-volume/members/{member}",
                                  params={"period": "all"}, timeout=10).json()
            assert answer["score"] == store.format_score(cents, 2)
            assert answer["total"] == len(board)
            assert answer["rank"] == 1 + sum(1 for _m, c in ranked if c > cents)
        top = requests.get(f"{served.base}/v1/leaderboards/all-volume", params={"period": "all", "limit": 10},
                           timeout=10).json()
        assert [(e["user_id"], e["score"]) for e in top["entries"]] == [
            (m, store.format_score(c, 2)) for m, c in ranked[:10]]


def test_stream_producer_with_consumer_totals_equal_the_seed_oracle(tmp_path, redis_url, redis_client):
    expected = expected_totals()
    env = producer_env(redis_url, tmp_path)
    with stream_consumer(env, "e2e") as consumer:
        produce(env, "--target", "stream")
        assert redis_client.xlen(keys.trade_stream()) == COUNT // 250  # one entry per batch
        assert wait_all_time_totals(redis_client, expected, APPLIED_TIMEOUT_SECONDS) == expected
        produce(env, "--target", "stream")  # re-sent entries: new stream entries, same trade ids
        wait_stream_drained(redis_client, timeout=APPLIED_TIMEOUT_SECONDS)
        assert all_time_totals(redis_client) == expected
        assert redis_client.xlen(keys.trade_stream_dead()) == 0
        stop_consumer(consumer)

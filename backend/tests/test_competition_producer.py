"""`leaderboard produce --competition ID`: the real producer creates a live demo competition and its trades,
through the Redis Stream and the real `leaderboard consume`, feed it exactly: every trader's competition
volume equals the seed's oracle, and the ranked (qualified) traders are exactly those above DEMO_MIN_VOLUME."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leaderboard import keys
from leaderboard.competitions.service import CompetitionRegistry
from leaderboard.producer.demo_competition import DEMO_MIN_VOLUME
from leaderboard.producer.market import TradeGenerator

from .helpers import oracle, producer_env, stop_consumer, stream_consumer, wait_stream_drained, zset

pytestmark = pytest.mark.slow
SEED, TRADERS, COUNT = 7, 30, 1000


def test_produce_with_competition_feeds_a_live_demo_competition_exactly(tmp_path, redis_url, redis_client):
    env = producer_env(redis_url, tmp_path)
    with stream_consumer(env, "cup") as consumer:
        done = subprocess.run(
            [sys.executable, "-m", "leaderboard", "produce", "--target", "stream", "--competition", "cup",
             "--seed", str(SEED), "--traders", str(TRADERS), "--count", str(COUNT), "--rate", "0"],
            env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        wait_stream_drained(redis_client, timeout=20)
        stop_consumer(consumer)
    comp = CompetitionRegistry(redis_client, 0).get("cup")
    assert (comp.metric, comp.registration, comp.ties) == ("volume", "none", "first_reached")
    expected = oracle(TradeGenerator(SEED, TRADERS).next_batch(COUNT))["all-volume"]
    assert zset(redis_client, keys.competition("cup", "vol")) == expected
    threshold = int(DEMO_MIN_VOLUME) * 100
    ranked = {m: comp.decode(s) for m, s in zset(redis_client, keys.competition("cup", "rank")).items()}
    assert ranked == {m: v for m, v in expected.items() if v >= threshold}
    assert ranked  # some traders qualified (the seed makes whales)

"""`first_reached` against a brute-force oracle (hypothesis), on a real Redis and on a real Redis Cluster.

The rule under test (competitions/model.py): higher volume first; equal volumes ordered by the moment each
trader's running total, replayed in event-time order, first reached its final value (in steps of
TIES_RESOLUTION_MS); equal again: member id in descending byte order. The trades are applied in a random order
and random chunks, with repeats, so the ranks must not depend on arrival order and a repeat must count once.
`shared` is checked against its own oracle: rank = 1 + members strictly above.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard.competitions.feed import CompetitionFeed
from leaderboard.competitions.model import Competition
from leaderboard.competitions.service import CompetitionRegistry, Competitions
from leaderboard.ingest.writes import TRADE_PREFIX, Increment, Write

STARTS = 1_800_000_000_000
RESOLUTION = 1000
ENDS = STARTS + 3600 * 1000

trade_rows = st.lists(
    st.tuples(st.sampled_from(["al", "bo", "cy", "di", "ed"]), st.sampled_from([1, 2, 3, 5]),
              st.integers(0, 20) .map(lambda s: STARTS + s * 700)),  # 0.7 s steps: several per resolution step
    min_size=1, max_size=30,
)


def _competition(ties: str) -> Competition:
    return Competition(f"t-{ties}", "t", "volume", None, STARTS, ENDS, "none", 0, (), ties, None, None, None,
                       RESOLUTION)


def _apply(redis: Any, comp: Competition, rows: list[tuple[str, int, int]], seed: int) -> Competitions:
    registry = CompetitionRegistry(redis, 60)
    registry.create(comp)
    writes = [Write(f"{TRADE_PREFIX}{i}", m, ts, (Increment("btc", "sum", a), Increment("all-volume", "sum", a)))
              for i, (m, a, ts) in enumerate(rows)]
    shuffler = random.Random(seed)
    writes = writes + shuffler.sample(writes, k=len(writes) // 3)  # repeats: retries and replays
    shuffler.shuffle(writes)
    feed = CompetitionFeed(redis, registry, grace_ms=0, marker_ttl=3600, chunk_writes=shuffler.randint(1, 7),
                           now_ms=lambda: STARTS + 1)
    for start in range(0, len(writes), 5):
        feed.apply(writes[start : start + 5])
    return Competitions(redis, registry)


def first_reached_oracle(rows: list[tuple[str, int, int]]) -> list[tuple[int, str, int]]:
    per_member: dict[str, list[tuple[int, int]]] = {}
    for member, amount, ts in rows:
        per_member.setdefault(member, []).append((ts, amount))
    places = []
    for member, trades in per_member.items():
        final = sum(a for _ts, a in trades)
        running, reached = 0, None
        for ts, amount in sorted(trades):
            running += amount
            if running == final and reached is None:
                reached = ts
        assert reached is not None
        slot = (reached - STARTS) // RESOLUTION
        places.append((-final, slot, (*(-b for b in member.encode()), 1), member, final))
    places.sort()
    return [(i + 1, member, final) for i, (_s, _t, _m, member, final) in enumerate(places)]


def shared_oracle(rows: list[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    totals: dict[str, int] = {}
    for member, amount, _ts in rows:
        totals[member] = totals.get(member, 0) + amount
    return {m: (1 + sum(1 for v in totals.values() if v > s), s) for m, s in totals.items()}


def _check(redis: Any, rows: list[tuple[str, int, int]], seed: int) -> None:
    fair = _competition("first_reached")
    service = _apply(redis, fair, rows, seed)
    total, page = service.page(fair, 0, 100)
    assert page == first_reached_oracle(rows)
    assert total == len(page)
    for rank, member, score in page:  # the member view agrees with the list
        place = service.place(fair, member)
        assert (place.rank, place.score) == (rank, score)
    shared = _competition("shared")
    service = _apply(redis, shared, rows, seed)
    _total, page = service.page(shared, 0, 100)
    expected = shared_oracle(rows)
    assert {m: (r, s) for r, m, s in page} == expected
    assert [s for _r, _m, s in page] == sorted((s for _r, s in expected.values()), reverse=True)
    assert {m: service.place(shared, m).rank for _r, m, _s in page} == {m: r for m, (r, _s) in expected.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=trade_rows, seed=st.integers(0, 1000))
def test_first_reached_matches_the_brute_force_oracle_whatever_the_arrival_order(redis_server, rows, seed):
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    try:
        _check(client, rows, seed)
    finally:
        client.close()


def test_the_same_on_a_redis_cluster(redis_cluster):
    client = redis_lib.RedisCluster.from_url(redis_cluster.url)
    try:
        rng = random.Random(7)
        for seed in range(3):
            redis_cluster.flushall()
            rows = [(rng.choice(["al", "bo", "cy"]), rng.choice([1, 2]), STARTS + rng.randint(0, 20) * 700)
                    for _ in range(25)]
            _check(client, rows, seed)
    finally:
        client.close()


def test_encoding_is_exact_at_its_bounds():
    comp = _competition("first_reached")
    assert comp.shift == 4096  # 3600 steps of 1 s need 12 bits
    top = comp.encode(comp.max_score, STARTS)
    assert top < 2**53 and comp.decode(top) == comp.max_score
    assert comp.decode(comp.encode(-comp.max_score, ENDS - 1)) == -comp.max_score
    assert comp.encode(comp.max_score + 10, STARTS) == top  # saturates, documented
    earlier, later = comp.encode(5, STARTS + 1000), comp.encode(5, STARTS + 2000)
    assert earlier > later > comp.encode(4, STARTS)


@pytest.mark.parametrize("days", [1, 31, 92])
def test_max_score_for_the_window_lengths_allowed(days):
    comp = Competition("x", "x", "volume", None, 0, days * 86_400_000, "none", 0, (), "first_reached", None, None,
                       None, RESOLUTION)
    assert comp.max_score * comp.shift < 2**53
    assert comp.max_score >= 2**29  # > 5 million USD in cents even for the longest window

"""`ties: first_reached` on ordinary boards against a brute-force oracle (hypothesis), on a real Redis and on a
real Redis Cluster, and through the API.

The rule under test (ranking/ties.py): higher score first; equal scores ordered by reach time, earliest first
(`sum`: the latest event time among the member's writes in the period; `best`: the earliest event time of a
write with the member's best value); equal again: member id in descending byte order. Every rank is unique.
Writes go through the real apply script in a random order and random chunks, with repeats, so the ranks must
not depend on arrival order and a repeat must count once; all-time, every day board, the 24h window (from
hour buckets) and the member views (rank, around-me) are checked, with and without a disqualified member.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leaderboard import keys
from leaderboard.clock import from_ms, to_ms
from leaderboard.competitions.moderation import delete_user
from leaderboard.competitions.service import CompetitionRegistry
from leaderboard.ranking import store
from leaderboard.ranking.apply import APPLY_BOARD_BATCH_LUA, BoardWrite, build_board_batch
from leaderboard.ranking.boards import Board
from leaderboard.ranking.periods import Period, day_bucket, hour_bucket, window_hours

from .helpers import assert_error, drain, mentions, refresh, token_headers

NOW = hour_bucket(datetime.now(UTC)) + timedelta(minutes=30)
NOW_MS = to_ms(NOW)
MEMBERS = ["al", "bo", "cy", "di", "ed"]
Row = tuple[str, int, int]  # member, amount, event time ms

rows_strategy = st.lists(
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from([1, 2, 3, 5]),
              st.integers(0, 40).map(lambda k: NOW_MS - k * 47 * 60_000)),  # ~31 h: two days, hours, equal times
    min_size=1, max_size=30,
)


def oracle(rows: list[Row], mode: str, counts: Any = lambda _ts: True) -> list[tuple[int, str, int]]:
    values: dict[str, int] = {}
    reach: dict[str, int] = {}
    for member, amount, ts in rows:
        if not counts(ts):
            continue
        if mode == "sum":
            values[member] = values.get(member, 0) + amount
            reach[member] = max(reach.get(member, ts), ts)
        elif member not in values or amount > values[member]:
            values[member], reach[member] = amount, ts
        elif amount == values[member]:
            reach[member] = min(reach[member], ts)
    order = sorted(values, key=lambda m: (-values[m], reach[m], (*(-b for b in m.encode()), 1)))
    return [(i + 1, m, values[m]) for i, m in enumerate(order)]


def apply(redis: Any, board: Board, rows: list[Row], seed: int) -> None:
    writes = [BoardWrite(f"s:{i}", m, a, ts, f"fp{i}") for i, (m, a, ts) in enumerate(rows)]
    shuffler = random.Random(seed)
    writes = writes + shuffler.sample(writes, k=len(writes) // 3)  # repeats: retries and replays
    shuffler.shuffle(writes)
    script = redis.register_script(APPLY_BOARD_BATCH_LUA)
    size = shuffler.randint(1, 7)
    for start in range(0, len(writes), size):
        batch = build_board_batch(board.id, board.write_mode, writes[start : start + size], marker_ttl=3600,
                                  history_days=7, now=NOW)
        script(keys=batch.keys, args=batch.args)


def ranked(rows: list[store.Ranked]) -> list[tuple[int, str, int]]:
    return [(r.rank, r.member, r.score) for r in rows]


def check_set(redis: Any, key: str, expected: list[tuple[int, str, int]]) -> None:
    total, page = store.page_and_total(redis, key, 0, 100, "first_reached")
    assert (total, ranked(page)) == (len(expected), expected)
    if expected:
        assert ranked(store.page(redis, key, 1, 2, "first_reached")) == expected[1:3]  # a later page
    _total, places = store.member_ranks(redis, key, [m for _r, m, _s in expected] + ["nobody"], "first_reached")
    assert {m: (p.rank, p.score) for m, p in places.items()} == {m: (r, s) for r, m, s in expected}
    for rank, member, _score in expected:
        found = store.around(redis, key, member, 3, "first_reached")
        assert found is not None
        rows = ranked(found[1])
        assert (rank, member) in [(r, m) for r, m, _s in rows] and rows == expected[rows[0][0] - 1 : rows[-1][0]]


def check(redis: Any, rows: list[Row], seed: int, mode: str) -> None:
    board = Board(f"fr-{mode}", "t", "points", 0, mode, "game", ties="first_reached")
    apply(redis, board, rows, seed)
    expected = oracle(rows, mode)
    check_set(redis, keys.all_time(board.id), expected)
    for day in {day_bucket(from_ms(ts)) for _m, _a, ts in rows}:
        check_set(redis, keys.day(board.id, day), oracle(rows, mode, lambda ts, d=day: day_bucket(from_ms(ts)) == d))
    store.materialize_window(redis, board, Period.H24, NOW)
    hours = set(window_hours(Period.H24, NOW))
    check_set(redis, keys.window(board.id, "24h"), oracle(rows, mode, lambda ts: hour_bucket(from_ms(ts)) in hours))
    # a disqualified member is left out: the others move up, ranks stay unique
    out = expected[0][1]
    redis.hset(keys.disqualified(board.id), out, "{}")
    check_set(redis, keys.all_time(board.id), [(r - 1, m, s) for r, m, s in expected if m != out])
    # the same writes on a shared board: the same scores, ranks 1 + members strictly above
    shared = Board(f"sh-{mode}", "t", "points", 0, mode, "game")
    apply(redis, shared, rows, seed)
    _total, page = store.page_and_total(redis, keys.all_time(shared.id), 0, 100)
    scores = {m: s for _r, m, s in expected}
    assert {r.member: (r.rank, r.score) for r in page} == {
        m: (1 + sum(1 for v in scores.values() if v > s), s) for m, s in scores.items()}


@pytest.mark.parametrize("mode", ["sum", "best"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, seed=st.integers(0, 1000))
@example(rows=[("al", 5, NOW_MS - 3 * 3_600_000), ("bo", 5, NOW_MS - 2 * 3_600_000), ("al", 5, NOW_MS - 3_600_000),
               ("cy", 5, NOW_MS - 3_600_000), ("cy", 2, NOW_MS - 5 * 3_600_000)], seed=3)  # best in two buckets
def test_first_reached_boards_match_the_brute_force_oracle_whatever_the_arrival_order(redis_server, mode, rows,
                                                                                      seed):
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    try:
        check(client, rows, seed, mode)
    finally:
        client.close()


def test_the_same_on_a_redis_cluster(redis_cluster):
    client = redis_lib.RedisCluster.from_url(redis_cluster.url)
    try:
        rng = random.Random(11)
        for seed, mode in enumerate(["sum", "best", "sum"]):
            redis_cluster.flushall()
            rows = [(rng.choice(MEMBERS[:3]), rng.choice([1, 2]), NOW_MS - rng.randint(0, 40) * 47 * 60_000)
                    for _ in range(25)]
            check(client, rows, seed, mode)
    finally:
        client.close()


def test_scores_keep_the_whole_2_to_the_53_range():
    """Nothing is packed into the score: the order lives in the member names, so a score near 2^53 - 1 stays
    exact and still ties by reach time."""
    client_rows = [("al", 2**53 - 1, NOW_MS - 1000), ("bo", 2**53 - 1, NOW_MS - 2000)]
    assert oracle(client_rows, "best") == [(1, "bo", 2**53 - 1), (2, "al", 2**53 - 1)]


def test_the_api_creates_a_first_reached_board_and_its_reads_give_unique_ranks(client, app, redis_client):
    admin, game = token_headers(app, "boss", "admin"), token_headers(app, "game", "service")
    bad = client.post("/v1/leaderboards", json={"id": "odd", "ties": "alphabetical"}, headers=admin)
    assert_error(bad, 422, "validation_error")
    assert bad.json["error"]["details"]["field"] == "ties"
    for board_id, ties in (("cup", "first_reached"), ("flat", "shared")):
        created = client.post("/v1/leaderboards", json={"id": board_id, "mode": "best", "ties": ties}, headers=admin)
        assert created.status_code == 201 and created.json["ties"] == ties
    assert client.post("/v1/leaderboards", json={"id": "plain"}, headers=admin).json["ties"] == "shared"
    # event time = acceptance time: amy reaches 50 first, then kimberly, zed; bob tops; amy's repeat of 50 is later
    scores = [("amy", 50), ("kimberly", 50), ("zed", 50), ("bob", 70), ("amy", 50)]
    for user, score in scores:
        for board_id in ("cup", "flat"):
            action = client.post("/v1/actions", json={}, headers=game).json["action_id"]
            response = client.post("/v1/scores", headers=game, json={
                "user_id": user, "score": score, "action_id": action, "board": board_id})
            assert response.status_code == 202, response.json
        time.sleep(0.005)
    drain(app)
    refresh(app, redis_client, datetime.now(UTC))
    for period in ("all", "day", "24h"):
        page = client.get(f"/v1/leaderboards/cup?period={period}").json
        assert [(e["rank"], e["user_id"]) for e in page["entries"]] == [(1, "bob"), (2, "amy"), (3, "kimberly"),
                                                                         (4, "zed")], period
    flat = client.get("/v1/leaderboards/flat?period=all").json["entries"]
    assert [(e["rank"], e["user_id"]) for e in flat] == [(1, "bob"), (2, "zed"), (2, "kimberly"), (2, "amy")]
    me = client.get("/v1/leaderboards/cup/members/kimberly?period=all").json
    assert (me["rank"], me["score"]) == (3, "50")
    around = client.get("/v1/leaderboards/cup/members/kimberly/around?period=all&size=3").json["entries"]
    assert [(e["rank"], e["user_id"]) for e in around] == [(2, "amy"), (3, "kimberly"), (4, "zed")]
    # delete-user leaves no trace, the order sets included (a long name: random action ids never contain it)
    with app.app_context():
        from leaderboard.redis_conn import get_redis

        delete_user(get_redis(), CompetitionRegistry(get_redis(), 0), "kimberly", "boss", "now")
    assert mentions(redis_client, b"kimberly") == []
    _total, after = store.member_ranks(redis_client, keys.all_time("cup"), ["zed", "kimberly"], "first_reached")
    assert list(after) == ["zed"] and after["zed"].rank == 3  # kimberly is gone, zed moved up


@pytest.mark.parametrize("mode", ["sum", "best"])
def test_concurrent_flushers_give_the_oracles_order(redis_server, mode):
    """Four clients apply overlapping shuffled chunks of the same writes at once (each write at least once)."""
    rng = random.Random(5)
    rows = [(rng.choice(MEMBERS), rng.choice([1, 2, 3, 5]), NOW_MS - rng.randint(0, 40) * 47 * 60_000)
            for _ in range(200)]
    board = Board(f"cc-{mode}", "t", "points", 0, mode, "game", ties="first_reached")
    clients = [redis_lib.Redis.from_url(redis_server.url) for _ in range(4)]
    clients[0].flushall()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda pair: apply(pair[1], board, rows, pair[0]), enumerate(clients)))
        check_set(clients[0], keys.all_time(board.id), oracle(rows, mode))
    finally:
        for client in clients:
            client.close()

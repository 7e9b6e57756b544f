"""Property: for random writes across boards, members, event times and ties, every period's top list, member
rank and percentile, around-me and list ranks equal a brute-force oracle computed from the raw writes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard.ranking.boards import Board, BoardRegistry
from leaderboard.ranking.periods import PERIODS, Period, in_window

from .helpers import NOON, ManualClock, around_rows, read_cache_of, refresh, write

BOARDS = [Board("sumb", "Sum board", "USD", 2, "sum"), Board("bestb", "Best board", "points", 0, "best")]
MEMBERS = ["a", "b", "c", "ab", "b1", "Z"]
DAY0 = NOON.replace(hour=0)  # near the real clock: see helpers.NOON


@pytest.fixture()
def clock():
    return ManualClock(DAY0)


@pytest.fixture()
def app_config(app_config, clock):
    return {**app_config, "CLOCK": clock, "MAX_LIMIT": 100, "SNAPSHOT_TOP_N": 4}


def oracle(writes, board, period, now):
    """[(rank, member, score)] best first; inside a tie member ids in descending byte order."""
    totals: dict[str, int] = {}
    for board_index, member, value, ts in writes:
        if BOARDS[board_index] is board and in_window(period, ts, now):
            current = totals.get(member)
            if board.mode == "sum":
                totals[member] = (current or 0) + value
            else:
                totals[member] = value if current is None else max(current, value)
    ordered = sorted(totals.items(), key=lambda kv: kv[0].encode(), reverse=True)
    ordered.sort(key=lambda kv: -kv[1])
    return [(1 + sum(1 for s in totals.values() if s > score), member, score) for member, score in ordered]


def fmt(board, minor):
    return format(Decimal(minor).scaleb(-board.decimals), "f")


write_strategy = st.tuples(
    st.integers(0, len(BOARDS) - 1), st.sampled_from(MEMBERS), st.integers(1, 4), st.integers(0, 9 * 86400)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_writes=st.lists(write_strategy, max_size=25), now_offset=st.integers(0, 86399),
       snapshot_first=st.booleans(), around_size=st.integers(1, 5))
def test_every_read_matches_the_brute_force_oracle(
    app, client, redis_client, clock, raw_writes, now_offset, snapshot_first, around_size
):
    redis_client.flushall()
    app.extensions.pop("leaderboard.boards", None)
    if read_cache_of(app):
        read_cache_of(app).clear()
    registry = BoardRegistry(redis_client)
    for board in BOARDS:
        registry.create(board)
    now = DAY0 + timedelta(days=9, seconds=now_offset)
    writes = [(b, m, v, now - timedelta(seconds=age)) for b, m, v, age in raw_writes]
    for board_index, member, value, ts in writes:
        write(redis_client, BOARDS[board_index], member, value, ts)
    clock.now = now
    if snapshot_first:
        refresh(app, redis_client, now)

    for board in BOARDS:
        for period in PERIODS:
            expected = oracle(writes, board, period, now)
            check_top_list(client, board, period, expected)
            check_member_views(client, board, period, expected, around_size)


def check_top_list(client, board, period: Period, expected):
    top_n = 4
    listed, cursor = [], None
    while True:
        url = f"/v1/leaderboards/{board.id}?period={period.value}&limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).json
        listed += [(e["rank"], e["user_id"], e["score"]) for e in body["entries"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert body["total"] == len(expected)
    assert listed == [(r, m, fmt(board, s)) for r, m, s in expected[:top_n]]


def check_member_views(client, board, period: Period, expected, around_size):
    base = f"/v1/leaderboards/{board.id}"
    for position, (rank, member, score) in enumerate(expected):
        view = client.get(f"{base}/members/{member}?period={period.value}").json
        assert (view["rank"], view["score"], view["total"]) == (rank, fmt(board, score), len(expected))
        exact = Decimal(100) * (len(expected) - rank + 1) / len(expected)
        assert view["percentile"] == float(exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
        around = client.get(f"{base}/members/{member}/around?period={period.value}&size={around_size}").json
        want = around_rows(expected, position, around_size)
        assert [(e["rank"], e["user_id"], e["score"]) for e in around["entries"]] == [
            (r, m, fmt(board, s)) for r, m, s in want
        ]
    scored = {m for _, m, _ in expected}
    for member in set(MEMBERS) - scored:
        assert client.get(f"{base}/members/{member}?period={period.value}").status_code == 404
    listed = client.get(f"{base}/members?period={period.value}&ids={','.join(MEMBERS)}").json
    assert [(e["rank"], e["user_id"]) for e in listed["entries"]] == [(r, m) for r, m, _ in expected]
    assert sorted(listed["missing"]) == sorted(set(MEMBERS) - scored)


@settings(max_examples=2000, deadline=None)
@given(minor=st.integers(-(2**53), 2**53), decimals=st.integers(-3, 18))
def test_scores_format_and_parse_as_decimal_does(minor, decimals):
    """store.format_score / parse_score work in integers on the hot path; the definition is Decimal's."""
    from leaderboard.ranking import store

    assert store.format_score(minor, decimals) == format(Decimal(minor).scaleb(-decimals), "f")
    for raw in (str(minor).encode(), str(minor), repr(float(minor)), str(minor) + ".0"):
        assert store.parse_score(raw) == int(Decimal(raw.decode() if isinstance(raw, bytes) else raw))

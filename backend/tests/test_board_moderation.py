"""Disqualifying a member from an ordinary board, on a real Redis: every read (top list and snapshot, pages,
member rank, around-me, lists of members) leaves it out and the others move up; reinstating restores its
scores exactly (writes meanwhile included); the audit trail; refusals. The reads' arithmetic past the
disqualified members is checked against a brute-force oracle (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaderboard import keys
from leaderboard.clock import to_ms
from leaderboard.ranking import store

from .helpers import assert_error, drain, token_headers, trade


def post(client, app, headers, trades):
    response = client.post("/v1/trades", json={"trades": trades}, headers=headers)
    assert response.status_code == 202, response.json
    drain(app)


def ranks(client, period="day"):
    body = client.get(f"/v1/leaderboards/eth?period={period}&limit=10").json
    return body["total"], [(e["rank"], e["user_id"]) for e in body["entries"]]


def test_disqualify_hides_the_member_everywhere_and_reinstate_restores_its_score_exactly(client, app, redis_client):
    admin, venue = token_headers(app, "boss", "admin"), token_headers(app, "venue", "service")
    post(client, app, venue, [trade("a", "alice", "ETH", "3", "100"), trade("b", "bob", "ETH", "2", "100"),
                              trade("c", "carol", "ETH", "2", "100"), trade("d", "dave", "ETH", "1", "100"),
                              trade("ya", "alice", "BTC", "9", "100", ts=YESTERDAY_MS),  # yesterday: history
                              trade("yb", "bob", "BTC", "1", "100", ts=YESTERDAY_MS)])
    assert ranks(client) == (4, [(1, "alice"), (2, "carol"), (2, "bob"), (4, "dave")])

    dq = client.post("/v1/leaderboards/eth/disqualifications", json={"user_id": "alice", "reason": "spoofing"},
                     headers=admin)
    assert dq.status_code == 201 and dq.json["action"] == "disqualify" and dq.json["by"] == "boss"
    for period in ("day", "24h", "all"):  # the stored snapshots were rebuilt at once: the others moved up
        assert ranks(client, period) == (3, [(1, "carol"), (1, "bob"), (3, "dave")]), period
    assert_error(client.get("/v1/leaderboards/eth/members/alice?period=all"), 404, "member_not_found")
    dave = client.get("/v1/leaderboards/eth/members/dave?period=all").json
    assert dave["rank"] == 3 and dave["total"] == 3
    around = client.get("/v1/leaderboards/eth/members/dave/around?period=all&size=3").json
    assert [e["user_id"] for e in around["entries"]] == ["carol", "bob", "dave"]
    assert client.post("/v1/leaderboards/btc/disqualifications", json={"user_id": "alice", "reason": "spoofing"},
                       headers=admin).status_code == 201
    history = client.get(f"/v1/leaderboards/btc/history/{YESTERDAY}").json
    assert history["total"] == 1 and [(e["rank"], e["user_id"]) for e in history["entries"]] == [(1, "bob")]
    listed = client.get("/v1/leaderboards/eth/members?period=day&ids=alice,bob").json
    assert [e["user_id"] for e in listed["entries"]] == ["bob"]

    # a write meanwhile still counts (the scores stay in place), and shows after the reinstatement
    post(client, app, venue, [trade("a2", "alice", "ETH", "1", "100")])
    assert ranks(client, "all")[1][0] == (1, "carol")
    back = client.delete("/v1/leaderboards/eth/disqualifications/alice", headers=admin)
    assert back.status_code == 200 and back.json["action"] == "reinstate"
    assert ranks(client, "all") == (4, [(1, "alice"), (2, "carol"), (2, "bob"), (4, "dave")])
    assert client.get("/v1/leaderboards/eth/members/alice?period=all").json["score"] == "400.00"

    trail = client.get("/v1/leaderboards/eth/audit", headers=admin).json["entries"]
    assert [(e["action"], e["member"], e["reason"], e["by"]) for e in trail] == [
        ("disqualify", "alice", "spoofing", "boss"), ("reinstate", "alice", None, "boss")]
    assert all(e["at"] for e in trail)

    # refusals change nothing
    assert_error(client.delete("/v1/leaderboards/eth/disqualifications/alice", headers=admin), 404,
                 "not_disqualified")
    assert_error(client.post("/v1/leaderboards/eth/disqualifications", json={"user_id": "bob"}, headers=admin),
                 422, "validation_error")
    assert_error(client.post("/v1/leaderboards/nope/disqualifications", json={"user_id": "bob", "reason": "x"},
                             headers=admin), 404, "board_not_found")
    assert client.post("/v1/leaderboards/eth/disqualifications", json={"user_id": "bob", "reason": "x"},
                       headers=venue).status_code == 403
    assert client.get("/v1/leaderboards/eth/audit", headers=venue).status_code == 403
    assert len(client.get("/v1/leaderboards/eth/audit", headers=admin).json["entries"]) == 2

    # deleting the user (privacy) leaves nothing of it in the board's moderation keys either
    client.post("/v1/leaderboards/eth/disqualifications", json={"user_id": "alice", "reason": "x"}, headers=admin)
    assert client.delete("/v1/users/alice", headers=admin).status_code == 200
    assert client.get("/v1/leaderboards/eth/audit", headers=admin).json["entries"] == []
    assert not redis_client.hexists(keys.disqualified("eth"), "alice")


MEMBERS = [f"m{i}" for i in range(8)]
_NOON_YESTERDAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
YESTERDAY, YESTERDAY_MS = _NOON_YESTERDAY.date().isoformat(), to_ms(_NOON_YESTERDAY)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scores=st.dictionaries(st.sampled_from(MEMBERS), st.integers(1, 6), min_size=1),
       dq=st.sets(st.sampled_from(MEMBERS)), offset=st.integers(0, 8), count=st.integers(1, 8),
       size=st.integers(1, 5))
def test_reads_skip_disqualified_members_like_a_brute_force_oracle(redis_client, scores, dq, offset, count, size):
    key, dq_key = keys.all_time("prop"), keys.disqualified("prop")
    redis_client.delete(key, dq_key)
    redis_client.zadd(key, scores)
    for member in dq:
        redis_client.hset(dq_key, member, orjson.dumps({"reason": "x"}))
    kept = sorted(((m, s) for m, s in scores.items() if m not in dq),
                  key=lambda r: (-r[1], [-b for b in r[0].encode()]))  # ties: member id, descending bytes
    expected = [store.Ranked(1 + sum(1 for _m, o in kept if o > s), m, s) for m, s in kept]

    total, top = store.top(redis_client, key, count)
    assert (total, top) == (len(kept), expected[:count])
    assert store.page(redis_client, key, offset, count) == expected[offset : offset + count]
    assert store.member_ranks(redis_client, key, MEMBERS) == (
        len(kept), {r.member: store.MemberRank(r.rank, r.score, len(kept)) for r in expected})
    for position, row in enumerate(expected):
        start = max(0, min(position - (size - 1) // 2, len(expected) - size))
        assert store.around(redis_client, key, row.member, size) == (len(kept), expected[start : start + size])
    for member in dq & set(scores):
        assert store.around(redis_client, key, member, size) is None

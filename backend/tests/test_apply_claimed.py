"""The apply script's claimed mode (API trades on their identity board: one SET XX GET KEEPTTL per write
instead of SET NX + GET + SET) decides every marker state exactly like the unclaimed mode, and leaves a
marker that is not the write's own claim as it was (value and lifetime)."""

from __future__ import annotations

import pytest

from leaderboard import keys
from leaderboard.ranking.apply import APPLY_BOARD_BATCH_LUA, BoardWrite, build_board_batch

TS = 1_900_000_000_000  # far ahead: every bucket set is still alive
BOARD = "all-volume"
MARKER = keys.seen(BOARD, "t:w1")
CASES = {  # marker before -> (counted, conflict, marker after)
    None: (1, False, "fp-a"),
    "c:fp-a": (1, False, "fp-a"),  # the request's own claim: applied now
    "fp-a": (0, False, "fp-a"),  # applied before: a duplicate
    "1": (0, False, "1"),  # a marker from before fingerprints: any content matches
    "fp-b": (0, True, "fp-b"),  # applied with other content: a conflict
    "c:fp-b": (0, True, "c:fp-b"),  # claimed by a request with other content: a conflict
}


@pytest.mark.parametrize("claimed", [True, False])
def test_every_marker_state_is_decided_the_same_in_both_modes(redis_client, claimed):
    script = redis_client.register_script(APPLY_BOARD_BATCH_LUA)
    for before, (counted, conflict, after) in CASES.items():
        redis_client.flushall()
        if before is not None:
            redis_client.set(MARKER, before, ex=500)
        batch = build_board_batch(BOARD, "sum", [BoardWrite("t:w1", "alice", 7, TS, "fp-a")], marker_ttl=1000,
                                  history_days=2, claimed=claimed)
        reply = script(keys=batch.keys, args=batch.args)
        assert (int(reply[0]), len(reply) > 1) == (counted, conflict), before
        assert redis_client.get(MARKER).decode() == after, before
        ttl = redis_client.ttl(MARKER)
        if before is None:
            assert 990 < ttl <= 1000
        elif claimed or not counted:  # kept its lifetime (claimed: the claim's is the dedupe window too)
            assert 490 < ttl <= 500, before
        assert redis_client.zscore(keys.all_time(BOARD), "alice") == (7 if counted else None), before

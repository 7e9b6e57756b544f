"""The request path's claim of trade ids: how a reused id with other content gets its 409.

The exactly-once marker (ranking/apply.py) is written at flush time, after the 202. To answer 409
`trade_id_conflict` to the request that reuses an id, the request claims its writes' ids before it is
acknowledged: one script call (CLAIM_WRITES_LUA) per identity board (`all-volume` for every trade, so one
call per request; the native write path's group commit makes one call for all the requests waiting, which
the script decides one after another) that sets each marker to `c:<fingerprint>` unless a marker already holds
other content; the apply script later turns a claim of the same content into the applied fingerprint.

The write path promises not to hang on Redis, so the claim is bounded (redis_conn.BoundedRedis: calls time
out after REQUEST_REDIS_TIMEOUT_MS). When the claim fails (timeout, Redis unreachable, a stall), the request
is accepted unclaimed (202) and requests skip the claim for REQUEST_REDIS_RETRY_SECONDS (one slow call per
period, not one per request); the apply script still finds a conflict at flush time (the first
content wins; the other counts nowhere, logged and counted in leaderboard_trades_conflict_total{stage=
"flush"}). Skipped claims are counted in leaderboard_trade_claims_skipped_total.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from .. import keys, metrics
from ..ranking.apply import CLAIM_WRITES_LUA, RELEASE_CLAIMS_LUA
from ..redis_client import BoundedRedis
from .writes import Write

log = logging.getLogger(__name__)


class WriteConflict(Exception):
    """Write number `index` of the request reuses an id already taken with other content."""

    def __init__(self, index: int) -> None:
        super().__init__(f"write {index} reuses an id with other content")
        self.index = index


Claimed = list[tuple[str, str, str]]  # (board, marker key, claim value) a claim set, released if not accepted


class WriteClaims:
    def __init__(self, bounded: BoundedRedis, ttl: int) -> None:
        self.bounded = bounded
        self.ttl = ttl
        self.redis = bounded.client
        self._claim = self.redis.register_script(CLAIM_WRITES_LUA)
        self._release = self.redis.register_script(RELEASE_CLAIMS_LUA)

    def claim(self, writes: Sequence[Write]) -> Claimed | None:
        """Claim every write's id for its content. Raises WriteConflict naming the first write whose id is
        taken with other content (nothing is claimed then); None when the claim was skipped (Redis slow or
        unreachable: see the module docstring); else the markers this call set."""
        outcome = self.claim_many([writes])[0]
        if isinstance(outcome, WriteConflict):
            raise outcome
        return outcome

    def claim_many(self, requests: Sequence[Sequence[Write]]) -> list[Claimed | WriteConflict | None]:
        """`claim` for several requests at once, one script call per identity board for them all (the native
        write path's group commit, ingest/group_commit.py): each request's outcome, in order, as `claim` returns
        or raises it. The script decides the requests one after another, as if each were claimed alone."""
        outcomes: list[Claimed | WriteConflict | None] = [None] * len(requests)
        plans: list[tuple[int, list[tuple[str, list[int], list[str]]]]] = []
        for number, writes in enumerate(requests):
            try:
                plans.append((number, self._groups(writes)))
            except WriteConflict as exc:
                outcomes[number] = exc
        if not plans:
            return outcomes
        if not self.bounded.available():
            metrics.TRADE_CLAIMS_SKIPPED.labels("backing_off").inc(len(plans))
            return outcomes
        by_board: dict[str, list[tuple[int, list[int], list[str]]]] = defaultdict(list)
        for number, groups in plans:
            for board, indexes, markers in groups:
                by_board[board].append((number, indexes, markers))
        replies: dict[tuple[int, str], Any] = {}
        for board, calls in by_board.items():  # one call per board: its markers share the board's slot
            try:
                answers = self._claim(keys=[m for _n, _i, markers in calls for m in markers], args=[
                    self.ttl, len(calls), *(len(indexes) for _n, indexes, _m in calls),
                    *(requests[number][i].fp for number, indexes, _m in calls for i in indexes)])
            except RedisError as exc:
                answers = [exc] * len(calls)
            for (number, _indexes, _markers), answer in zip(calls, answers, strict=True):
                replies[number, board] = answer
        failed: RedisError | None = None
        for number, groups in plans:
            writes = requests[number]
            claimed: Claimed = []
            outcome: Claimed | WriteConflict | None = claimed
            for board, indexes, markers in groups:
                reply = replies[number, board]
                if isinstance(reply, RedisError):
                    failed = reply
                    outcome = None if outcome is claimed else outcome  # accepted unclaimed, as a failed claim is
                    continue
                claimed.extend((board, markers[int(p) - 1], "c:" + writes[indexes[int(p) - 1]].fp)
                               for p in reply[1:])
                if int(reply[0]) and outcome is claimed:
                    outcome = WriteConflict(indexes[int(reply[0]) - 1])
            if outcome is not claimed:  # a conflict (or a failure): what the request's other boards set goes back
                self.release(claimed)
            outcomes[number] = outcome
        if failed is not None:
            self._back_off(failed)
        return outcomes

    @staticmethod
    def _groups(writes: Sequence[Write]) -> list[tuple[str, list[int], list[str]]]:
        """(identity board, write indexes, marker keys) per identity board; WriteConflict for an id used twice
        in one request with other content."""
        seen: dict[str, str] = {}
        groups: dict[str, list[int]] = defaultdict(list)
        for index, write in enumerate(writes):
            first = seen.setdefault(write.write_id, write.fp)
            if first != write.fp:
                raise WriteConflict(index)  # the same id twice in one request, with other content
            groups[write.identity_board].append(index)
        return [(board, indexes, [keys.seen(board, writes[i].write_id) for i in indexes])
                for board, indexes in groups.items()]

    def release(self, claimed: Claimed | None) -> None:
        """Best effort: give back markers this request claimed but could not get accepted (buffer full)."""
        if not claimed:
            return
        by_board: dict[str, Claimed] = defaultdict(list)
        for item in claimed:
            by_board[item[0]].append(item)
        with contextlib.suppress(RedisError):
            for group in by_board.values():
                self._release(keys=[m for _, m, _ in group], args=[v for _, _, v in group])

    def _back_off(self, exc: RedisError) -> None:
        metrics.TRADE_CLAIMS_SKIPPED.labels(exc.__class__.__name__).inc()
        metrics.REDIS_ERRORS.labels("claim").inc()
        if self.bounded.failed():
            log.warning("trade id claim failed; accepting writes unclaimed (conflicts found at flush)",
                        extra={"event": "claim_skipped", "error": exc.__class__.__name__,
                               "retry_seconds": self.bounded.retry_s})


"""Disqualifying a member from a board (admin moderation), reversibly, with an audit trail.

A disqualified member keeps every score it has in the board's keys (all-time, days, hours, windows, archives);
the board's `keys.disqualified` hash lists it, and every read (store.py: top lists and snapshots, pages,
history, member ranks, around-me) leaves it out as if it had no score, so the others move up at once and a
reinstated member's scores are exactly what they were, writes meanwhile included. One script, one `{board}`
slot (cluster-legal): the record, the audit entry and the live change marks (so the live ticker republishes
every period) change together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from .. import defaults, keys
from . import snapshots
from .boards import Board
from .errors import ModerationError
from .periods import PERIODS

# KEYS: disqualified hash, audit list, live change marks. ARGV[1] member, ARGV[2] record JSON ('' reinstates),
# ARGV[3] audit entry JSON, ARGV[4] most members disqualified at once. 1 done, 0 not disqualified, -1 full.
DISQUALIFY_LUA = """
if ARGV[2] ~= '' then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
    return -1
  end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
elseif redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[3])
for _, kind in ipairs({'all', 'day', 'hour'}) do redis.call('HINCRBY', KEYS[3], kind, 1) end
return 1
"""


def _run(redis: Any, board: Board, member: str, record: bytes, audit: dict[str, Any]) -> int:
    return int(redis.register_script(DISQUALIFY_LUA)(
        keys=[keys.disqualified(board.id), keys.board_audit(board.id), keys.live_changes(board.id)],
        args=[member, record, orjson.dumps(audit), defaults.MAX_BOARD_DISQUALIFIED]))


def disqualify(redis: Any, board: Board, member: str, reason: str, by: str, now: datetime, at_iso: str,
               top_n: int) -> dict[str, Any]:
    """Disqualify `member` (again: a new reason replaces the record); the audit entry."""
    audit = {"action": "disqualify", "member": member, "reason": reason, "by": by, "at": at_iso}
    record = orjson.dumps({"reason": reason, "by": by, "at": at_iso})
    if _run(redis, board, member, record, audit) < 0:
        raise ModerationError("conflict", "too_many_disqualified",
                              f"A board holds at most {defaults.MAX_BOARD_DISQUALIFIED} disqualified members.",
                              {"limit": defaults.MAX_BOARD_DISQUALIFIED})
    _resnapshot(redis, board, now, top_n)
    return audit


def reinstate(redis: Any, board: Board, member: str, by: str, now: datetime, at_iso: str,
              top_n: int) -> dict[str, Any]:
    audit = {"action": "reinstate", "member": member, "reason": None, "by": by, "at": at_iso}
    if _run(redis, board, member, b"", audit) == 0:
        raise ModerationError("not_found", "not_disqualified", f"{member!r} is not disqualified.", {"user_id": member})
    _resnapshot(redis, board, now, top_n)
    return audit


def audit_trail(redis: Any, board: Board) -> list[dict[str, Any]]:
    return [orjson.loads(e) for e in redis.lrange(keys.board_audit(board.id), 0, -1)]


def disqualified(redis: Any, board: Board, member: str) -> dict[str, Any] | None:
    raw = redis.hget(keys.disqualified(board.id), member)
    return orjson.loads(raw) if raw is not None else None


def _resnapshot(redis: Any, board: Board, now: datetime, top_n: int) -> None:
    """Every period's stored snapshot rebuilt now, so lists change at once (not at the next refresh)."""
    for period in PERIODS:
        snapshots.refresh(redis, board, period, now, top_n)

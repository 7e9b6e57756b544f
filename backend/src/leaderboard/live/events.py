"""What the live tier says: the `update` event of one board period (the rows of its top list that changed
between two snapshots) and its wire form on the pub/sub channel.

An update carries the new `as_of`, `total`, the rows of the new top `top_n` that are new or moved or changed
score (rank, previous rank or null for a newcomer, user, name, score) and the ids that left the top `top_n`.
Applied to the previous top `top_n` it gives the new one; the client needs nothing else.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from ..clock import iso
from ..ranking import store
from ..ranking.snapshots import Entry, Snapshot


class LiveBoard(Protocol):
    """What the live tier needs of a board: a Board, or a competition's board (competitions/live.py)."""

    @property
    def id(self) -> str: ...

    @property
    def decimals(self) -> int: ...


def diff_rows(before: tuple[Entry, ...], after: tuple[Entry, ...]) -> tuple[list[tuple[Entry, int | None]], list[str]]:
    """(rows of `after` that are new or changed, with their previous rank; members of `before` not in `after`)."""
    previous = {e.member: e for e in before}
    changed = []
    for entry in after:
        old = previous.get(entry.member)
        if old is None or old.rank != entry.rank or old.score != entry.score or old.name != entry.name:
            changed.append((entry, old.rank if old else None))
    kept = {e.member for e in after}
    return changed, [e.member for e in before if e.member not in kept]


def update_event(board: LiveBoard, before: Snapshot | None, after: Snapshot, top_n: int) -> dict[str, Any] | None:
    """The update from `before` to `after` over the top `top_n`, or None when the top, the total and the
    period's day are the same (nothing to tell)."""
    old_rows = before.entries[:top_n] if before is not None and before.day == after.day else ()
    rows, removed = diff_rows(old_rows, after.entries[:top_n])
    if not rows and not removed and before is not None and before.total == after.total and before.day == after.day:
        return None
    return {
        "board": board.id,
        "period": after.period.value,
        "as_of": iso(after.as_of),
        "total": after.total,
        "rows": [
            {"rank": e.rank, "previous_rank": prev, "user_id": e.member, "user_name": e.name,
             "score": store.format_score(e.score, board.decimals)}
            for e, prev in rows
        ],
        "removed": removed,
        "reset": before is None or before.day != after.day,  # a new day: the client drops its old rows
    }


def encode_message(board: str, period: str, event_id: str, prev_id: str, as_of_ms: int, data: bytes) -> bytes:
    """The pub/sub message: which board period, the event's stream id and its predecessor's (a subscriber that
    sees another predecessor than the last id it has knows it missed something), and the event's JSON."""
    head = orjson.dumps({"board": board, "period": period, "id": event_id, "prev": prev_id, "as_of_ms": as_of_ms})
    return head + b"\n" + data


def decode_message(raw: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, data = raw.partition(b"\n")
    return orjson.loads(head), data

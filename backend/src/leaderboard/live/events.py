"""What the live tier says: the `update` event of one board period (the rows of its top list that changed
between two snapshots) and its wire form on the pub/sub channel.

An update goes out for every board period the ticker recomputed (its change marks moved), also when its top did not
change (a write below it: no rows, the new `as_of`). It carries the new `as_of`, `total`, the rows of the new top
`top_n` that entered it or changed score or name (rank, previous rank or null for a newcomer, user, name, score)
and the ids that left the top `top_n`. A row that only shifted (a new leader moves everybody below it down by one)
is not sent: its score is the same, so its order relative to the other unchanged rows is the same, and the client
derives its new place (`derive`):

1. the rows sent go to their positions: sorted by rank, then member id descending (the API's order), a row's
   position is rank - 1 plus the rows sent before it with the same rank;
2. the rows the client held that the event does not name (not sent, not removed) fill the remaining positions
   from the top, in their previous order, each keeping its distance between rank and position (rank - position:
   0 without a tie above it; under `ties: shared` its place inside a tie group).

The server runs the same derivation on the previous top and sends any row it would get wrong as well (a tie
group that gained or lost members above a row, a `first_reached` reach time that moved without the score), so
applied to the previous top an update gives exactly the new top, ranks included. The rule needs no knowledge of
the board's `ties`: both are ranks by position past members with a higher score or an earlier reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def derive(before: Sequence[Entry], rows: Sequence[Entry], removed: Iterable[str]) -> list[Entry]:
    """The new top a client derives from the rows it held (`before`, from rank 1 in the API's order) and an
    update's `rows` and `removed` (the module's rule); it stops at the first position it cannot fill (a client
    that held fewer rows than the stream's top)."""
    named = {e.member for e in rows}.union(removed)
    placed: dict[int, Entry] = {}
    previous: Entry | None = None
    same_rank = 0
    for entry in sorted(sorted(rows, key=lambda e: e.member, reverse=True), key=lambda e: e.rank):
        same_rank = same_rank + 1 if previous is not None and previous.rank == entry.rank else 0
        placed[entry.rank - 1 + same_rank] = entry
        previous = entry
    kept = [(position, e) for position, e in enumerate(before) if e.member not in named]
    out: list[Entry] = []
    next_kept = 0
    while placed or next_kept < len(kept):
        position = len(out)
        if position in placed:
            out.append(placed.pop(position))
        elif next_kept < len(kept):
            old_position, entry = kept[next_kept]
            next_kept += 1
            out.append(Entry(entry.rank + position - old_position, entry.member, entry.name, entry.score))
        else:
            break  # a row the client does not hold goes here
    return out


def diff_rows(before: Sequence[Entry], after: Sequence[Entry]) -> tuple[list[tuple[Entry, int | None]], list[str]]:
    """(rows of `after` to send, with their previous rank; members of `before` not in `after`): the rows that
    entered or changed score or name, and any other row `derive` would not place exactly."""
    previous = {e.member: e for e in before}
    kept = {e.member for e in after}
    removed = [e.member for e in before if e.member not in kept]
    sent = set()
    for entry in after:
        old = previous.get(entry.member)
        if old is None or old.score != entry.score or old.name != entry.name:
            sent.add(entry.member)
    while True:
        derived = derive(before, [e for e in after if e.member in sent], removed)
        wrong = {e.member for n, e in enumerate(after) if n >= len(derived) or derived[n] != e} - sent
        if not wrong and len(derived) == len(after):
            break
        sent |= wrong if wrong else kept  # (nothing new to add: send them all, which derives exactly)
    changed = [(e, previous[e.member].rank if e.member in previous else None) for e in after if e.member in sent]
    return changed, removed


def update_event(board: LiveBoard, before: Snapshot | None, after: Snapshot, top_n: int) -> dict[str, Any] | None:
    """The update from `before` to `after` over the top `top_n`, or None when `after` is not newer. An update
    whose top did not change (no rows, nothing removed) still tells the new `as_of`: the ticker recomputed the
    board period because writes landed (below the top), so a member view read after it holds them (a trader's
    read-your-writes within a tick; every API process drops its member views older than it)."""
    if before is not None and after.as_of <= before.as_of:
        return None
    old_rows = before.entries[:top_n] if before is not None and before.day == after.day else ()
    rows, removed = diff_rows(old_rows, after.entries[:top_n])
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

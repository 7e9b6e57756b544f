"""Top-N snapshots of a board period: built (by the scheduler, or by an API worker when none is usable),
stored in Redis as a hash {as_of_ms, json} under `keys.snapshot`, and served by every worker's read cache.

A snapshot is only replaced by a newer one (compare-and-set on as_of in Lua), so a slow builder never
overwrites a fresher list. A `day` snapshot is never served on another day, nor a rolling window's in another hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import orjson

from .. import keys
from ..clock import from_ms, to_ms
from . import store
from .boards import Board
from .periods import ROLLING_HOURS, Period, day_bucket, hour_bucket

# KEYS[1]: the snapshot hash. ARGV[1]: as_of in epoch ms, ARGV[2]: the JSON body, ARGV[3]: TTL in ms.
# Stores only when newer than what is there; returns 1 when stored.
SAVE_IF_NEWER_LUA = """
local current = tonumber(redis.call('HGET', KEYS[1], 'as_of_ms') or '-1')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'as_of_ms', ARGV[1], 'json', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
SNAPSHOT_TTL = timedelta(days=1)  # a snapshot nobody refreshes for this long is gone (reads go live)


@dataclass(frozen=True)
class Entry:
    rank: int
    member: str
    name: str
    score: int  # minor units


@dataclass(frozen=True)
class Snapshot:
    board: str
    period: Period
    as_of: datetime
    day: date  # the UTC day of as_of: the `day` period's bucket
    total: int
    entries: tuple[Entry, ...]
    live: bool  # built by an API worker because no usable snapshot existed

    def serves(self, period: Period, now: datetime, max_age: timedelta) -> bool:
        """Usable at `now`: a `day` snapshot only on its own day, a rolling window's only in its own hour (its
        oldest hour leaves the window at the next hour), and none older than `max_age`."""
        if period is Period.DAY and self.day != day_bucket(now):
            return False
        if period in ROLLING_HOURS and hour_bucket(self.as_of) != hour_bucket(now):
            return False
        return now - self.as_of <= max_age

    @cached_property
    def _rows(self) -> dict[str, Entry]:
        return {e.member: e for e in self.entries}

    def row_of(self, member: str) -> Entry | None:
        """The member's row in this snapshot (built once per snapshot object), or None below its depth."""
        return self._rows.get(member)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "board": self.board,
                "period": self.period.value,
                "as_of_ms": to_ms(self.as_of),
                "day": self.day.isoformat(),
                "total": self.total,
                "entries": [[e.rank, e.member, e.name, e.score] for e in self.entries],
                "live": self.live,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Snapshot:
        data = orjson.loads(raw)
        return cls(
            board=data["board"],
            period=Period(data["period"]),
            as_of=from_ms(data["as_of_ms"]),
            day=date.fromisoformat(data["day"]),
            total=data["total"],
            entries=tuple(Entry(*row) for row in data["entries"]),
            live=bool(data.get("live", False)),
        )


def build(redis: Any, board: Board, period: Period, now: datetime, top_n: int, live: bool = False) -> Snapshot:
    """The top `top_n` of a board period at `now` (materializing a rolling window first)."""
    if period in ROLLING_HOURS:
        store.materialize_window(redis, board, period, now)
    total, rows = store.top(redis, store.period_key(board.id, period, now), top_n, board.ties)
    names = store.display_names(redis, [r.member for r in rows])
    entries = tuple(Entry(r.rank, r.member, names[r.member], r.score) for r in rows)
    return Snapshot(board.id, period, now, day_bucket(now), total, entries, live)


def save(redis: Any, snapshot: Snapshot) -> bool:
    """Store unless a newer snapshot is already there."""
    script = redis.register_script(SAVE_IF_NEWER_LUA)
    ttl_ms = int(SNAPSHOT_TTL / timedelta(milliseconds=1))
    key = keys.snapshot(snapshot.board, snapshot.period.value)
    return bool(script(keys=[key], args=[to_ms(snapshot.as_of), snapshot.to_json(), ttl_ms]))


def load(redis: Any, board: str, period: Period) -> Snapshot | None:
    raw = redis.hget(keys.snapshot(board, period.value), "json")
    return Snapshot.from_json(raw) if raw else None


def refresh(redis: Any, board: Board, period: Period, now: datetime, top_n: int) -> Snapshot:
    """Build and store: the scheduler's unit of work."""
    snapshot = build(redis, board, period, now, top_n)
    save(redis, snapshot)
    return snapshot

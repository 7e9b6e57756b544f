"""The atomic per-board apply: one Lua script that adds a batch of writes to one board exactly once.

Why a script: a MULTI/EXEC transaction cannot branch on an exactly-once marker, and a client-side
check-then-write is not atomic. The script runs atomically inside Redis, so for every write it sets the
marker `seen(board, write_id)` (SET NX EX) and counts the write only if the marker was new, in the same
atomic unit as the increments. Every key it touches carries the board's hash tag `{board}`, so the script
is legal on Redis Cluster. Callers run it on its own, or inside a MULTI/EXEC with a stream XACK when the
writes came from a stream on a single Redis (see ingest/flusher.py).

Inside the script, the writes whose markers were new are aggregated per (sorted set, member) before the
sorted sets are touched: a batch of 500 trades by 20 traders costs 20 ZINCRBY per bucket, not 500. The
client cannot aggregate across writes itself without knowing which markers are already set (that would
need a second round trip); it does drop repeats of one write id and bucket keys that already expired.

Modes: `sum` boards ZINCRBY; `best` boards keep the maximum (ZADD GT). Each bucket set gets its EXPIREAT in
the same script. Amounts are integer minor units below 2^53 (checked by the callers' validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from . import keys
from .periods import day_bucket, day_bucket_expiry, hour_bucket, hour_bucket_expiry

MS_PER_HOUR = 3_600_000

APPLY_BOARD_BATCH_LUA = """
-- KEYS[1..z]        the board's sorted sets this batch touches; KEYS[1] is the all-time set,
--                   then day and hour bucket sets
-- KEYS[z+1..z+n]    the exactly-once marker seen(board, write_id) of each write, in write order
-- ARGV[1] z         number of sorted sets
-- ARGV[2] n         number of writes
-- ARGV[3] mode      'sum' (ZINCRBY) or 'best' (ZADD GT keeps the maximum)
-- ARGV[4] ttl       marker lifetime, seconds (the dedupe window)
-- ARGV[5..4+z]      EXPIREAT unix seconds of each sorted set, 0 = never expires
-- ARGV[5+z..]       n groups of 4: member, amount (integer minor units), day set index, hour set index
--                   (indexes into KEYS[1..z]; 0 = this write skips that bucket)
-- Returns the number of writes counted (the others had been applied before).
local z, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local best, ttl = ARGV[3] == 'best', ARGV[4]
local totals = {}
for idx = 1, z do totals[idx] = {} end
local counted = 0
local base = 4 + z
for i = 1, n do
  if redis.call('SET', KEYS[z + i], '1', 'NX', 'EX', ttl) then
    counted = counted + 1
    local member, amount = ARGV[base + 1], tonumber(ARGV[base + 2])
    local day_idx, hour_idx = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
    for step = 1, 3 do
      local idx = (step == 1 and 1) or (step == 2 and day_idx) or hour_idx
      if idx > 0 then
        local per_member = totals[idx]
        local current = per_member[member]
        if best then
          if current == nil or amount > current then per_member[member] = amount end
        else
          per_member[member] = (current or 0) + amount
        end
      end
    end
  end
  base = base + 4
end
for idx = 1, z do
  local key, touched = KEYS[idx], false
  for member, amount in pairs(totals[idx]) do
    touched = true
    if best then
      redis.call('ZADD', key, 'GT', amount, member)
    else
      redis.call('ZINCRBY', key, amount, member)
    end
  end
  local expire_at = tonumber(ARGV[4 + idx])
  if touched and expire_at > 0 then redis.call('EXPIREAT', key, expire_at) end
end
return counted
"""


class BoardWrite(NamedTuple):
    """One write's contribution to one board: `amount` minor units for `member` at event time `ts_ms`."""

    write_id: str
    member: str
    amount: int
    ts_ms: int


@dataclass(frozen=True)
class BoardBatch:
    """The KEYS and ARGV of one script call."""

    board: str
    keys: list[str]
    args: list[Any]
    writes: int


def build_board_batch(
    board: str,
    mode: str,
    writes: Iterable[BoardWrite],
    *,
    marker_ttl: int,
    history_days: int,
    now: datetime | None = None,
) -> BoardBatch:
    """KEYS/ARGV for APPLY_BOARD_BATCH_LUA. Repeats of one write id are dropped (the first counts) and
    bucket sets whose expiry has passed are skipped (EXPIREAT in the past would delete the whole set)."""
    if mode not in ("sum", "best"):
        raise ValueError(f"unknown board mode {mode!r}")
    now_s = int((now or datetime.now(UTC)).timestamp())
    set_keys = [keys.all_time(board)]
    expiries = [0]
    set_index: dict[str, int] = {}
    markers: list[str] = []
    rows: list[Any] = []
    seen_ids: set[str] = set()
    by_hour: dict[int, tuple[int, int]] = {}  # event hour (epoch ms // 1h) -> (day set index, hour set index)
    marker_prefix = keys.seen(board, "")

    def index_of(key: str, expire_at: int) -> int:
        if expire_at <= now_s:
            return 0
        if key not in set_index:
            set_keys.append(key)
            expiries.append(expire_at)
            set_index[key] = len(set_keys)  # Lua indexes from 1
        return set_index[key]

    def bucket_indexes(hour_number: int) -> tuple[int, int]:
        ts = datetime.fromtimestamp(hour_number * 3600, UTC)
        day, hour = day_bucket(ts), hour_bucket(ts)
        return (index_of(keys.day(board, day), int(day_bucket_expiry(day, history_days).timestamp())),
                index_of(keys.hour(board, hour), int(hour_bucket_expiry(hour).timestamp())))

    for write in writes:
        if write.write_id in seen_ids:
            continue
        seen_ids.add(write.write_id)
        hour_number = write.ts_ms // MS_PER_HOUR
        indexes = by_hour.get(hour_number)
        if indexes is None:
            indexes = by_hour[hour_number] = bucket_indexes(hour_number)
        markers.append(marker_prefix + write.write_id)
        rows.extend((write.member, write.amount, *indexes))
    args: list[Any] = [len(set_keys), len(markers), mode, marker_ttl, *expiries, *rows]
    return BoardBatch(board, set_keys + markers, args, len(markers))


def chunked(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

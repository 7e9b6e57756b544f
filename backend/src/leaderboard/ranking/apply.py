"""The atomic per-board apply: one Lua script that adds a batch of writes to one board exactly once.

Why a script: a MULTI/EXEC transaction cannot branch on an exactly-once marker, and a client-side
check-then-write is not atomic. The script runs atomically inside Redis, so for every write it sets the
marker `seen(board, write_id)` (SET NX EX) to the write's content fingerprint and counts the write only if
the marker was new (or held the request path's claim of this very content, `c:<fp>`), in the same atomic
unit as the increments. A marker holding another fingerprint is a conflict: the write counts nothing and
its position is returned (the flusher drops it from its other boards and counts it in
leaderboard_trades_conflict_total). Every key it touches carries the board's hash tag `{board}`, so the script
is legal on Redis Cluster. Callers run it on its own, or inside a MULTI/EXEC with a stream XACK when the
writes came from a stream on a single Redis (see ingest/flusher.py).

Inside the script, the writes whose markers were new are aggregated per (sorted set, member) before the
sorted sets are touched: a batch of 500 trades by 20 traders costs 20 ZINCRBY per bucket, not 500. The
client cannot aggregate across writes itself without knowing which markers are already set (that would
need a second round trip); it does drop repeats of one write id and bucket keys that already expired.

Live change marks: for every sorted set it changed, the script adds 1 to the board's `keys.live_changes` hash
under the set's kind (`all`, `day`, `hour`), so the live ticker (live/ticker.py) learns which board periods
changed from the same atomic step that changed them: nothing applied can be missed.

Modes: `sum` boards ZINCRBY; `best` boards keep the maximum (ZADD GT). Each bucket set gets its EXPIREAT in
the same script. A `ties: first_reached` board (write mode `sum:first_reached` / `best:first_reached`) also
keeps each set's order set and reach times in the same script (ranking/ties.py). Amounts are integer minor
units below 2^53 (checked by the callers' validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .. import keys
from .periods import day_bucket, day_bucket_expiry, hour_bucket, hour_bucket_expiry
from .ties import ORDER_NAME_LUA

MS_PER_HOUR = 3_600_000
WRITE_MODES = ("sum", "best", "sum:first_reached", "best:first_reached")  # Board.write_mode values

APPLY_BOARD_BATCH_LUA = ORDER_NAME_LUA + """
-- KEYS[1..z]        the board's sorted sets this batch touches; KEYS[1] is the all-time set,
--                   then day and hour bucket sets
-- KEYS[z+1..z+n]    the exactly-once marker seen(board, write_id) of each write, in write order
-- KEYS[z+n+1]       the board's live change marks (hash kind -> counter: all, day, hour)
-- KEYS[z+n+2..]     only with ties = first_reached: each set's order set (keys.tie_order), then each set's
--                   reach hash (keys.tie_reach), in the order of KEYS[1..z] (ranking/ties.py)
-- ARGV[1] z         number of sorted sets
-- ARGV[2] n         number of writes
-- ARGV[3] mode      'sum' (ZINCRBY) or 'best' (ZADD GT keeps the maximum)
-- ARGV[4] ttl       marker lifetime, seconds (the dedupe window)
-- ARGV[5] claimed   '1': the markers are expected to hold the request path's claims (API writes on their
--                   identity board): one SET XX GET KEEPTTL per write instead of SET NX, GET, SET
-- ARGV[6] ties      '1': first_reached (keep the order sets and reach times), '0': shared
-- ARGV[7..6+z]      EXPIREAT unix seconds of each sorted set, 0 = never expires
-- ARGV[7+z..]       n groups of 6: member, amount (integer minor units), day set index, hour set index
--                   (indexes into KEYS[1..z]; 0 = this write skips that bucket), content fingerprint,
--                   event time (epoch ms)
-- Marker values: the fingerprint of the applied write ('1' or '' = written before fingerprints: any
-- content matches); 'c:'..fingerprint = claimed by the request path (CLAIM_WRITES_LUA), not applied yet.
-- A write counts if its marker is absent or holds its own claim (then the marker becomes its fingerprint);
-- it is a duplicate if the marker holds its fingerprint; a conflict otherwise (counts nothing). Both ways
-- of reading the marker leave it as that rule says (a marker that is not the write's own claim is put back
-- with its value and lifetime).
-- Returns {counted, position of each conflicting write (1-based, in write order)...}.
local z, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local best, ttl, claimed, fr = ARGV[3] == 'best', ARGV[4], ARGV[5] == '1', ARGV[6] == '1'
local totals, reached, raw_best = {}, {}, {}
for idx = 1, z do totals[idx], reached[idx], raw_best[idx] = {}, {}, {} end
local result = {0}
local base = 6 + z
for i = 1, n do
  local marker, fp = KEYS[z + i], ARGV[base + 5]
  local count, held = false, false
  if claimed then
    held = redis.call('SET', marker, fp, 'XX', 'GET', 'KEEPTTL')
    if not held then
      count = redis.call('SET', marker, fp, 'NX', 'EX', ttl)  -- no claim (skipped or expired): as below
    elseif held == 'c:' .. fp then
      count = true  -- its own claim, now the applied fingerprint with the claim's lifetime
    elseif held ~= fp then
      redis.call('SET', marker, held, 'KEEPTTL')  -- not this write's: put back what was there
    end
  else
    count = redis.call('SET', marker, fp, 'NX', 'EX', ttl)
    if not count then
      held = redis.call('GET', marker)
      if held == 'c:' .. fp then
        redis.call('SET', marker, fp, 'EX', ttl)
        count = true
      end
    end
  end
  if not count and held and held ~= 'c:' .. fp and held ~= fp and held ~= '1' and held ~= '' and fp ~= '' then
    result[#result + 1] = i
  end
  if count then
    result[1] = result[1] + 1
    local member, amount = ARGV[base + 1], tonumber(ARGV[base + 2])
    local day_idx, hour_idx, ts = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4]), tonumber(ARGV[base + 6])
    for step = 1, 3 do
      local idx = (step == 1 and 1) or (step == 2 and day_idx) or hour_idx
      if idx > 0 then
        local per_member, reach = totals[idx], reached[idx]
        local current = per_member[member]
        if best then
          if current == nil or amount > current then
            per_member[member] = amount
            if fr then reach[member], raw_best[idx][member] = ts, ARGV[base + 2] end
          elseif fr and amount == current and ts < reach[member] then
            reach[member] = ts  -- best: the earliest write with the best value
          end
        else
          per_member[member] = (current or 0) + amount
          if fr and (reach[member] == nil or ts > reach[member]) then reach[member] = ts end  -- sum: the latest
        end
      end
    end
  end
  base = base + 6
end
for idx = 1, z do
  local key, touched = KEYS[idx], false
  local order, reach_key = KEYS[z + n + 1 + idx], KEYS[z + n + 1 + z + idx]
  for member, amount in pairs(totals[idx]) do
    touched = true
    local score, reach, tied = false, reached[idx][member], false
    if best then
      local before = fr and redis.call('ZSCORE', key, member)
      redis.call('ZADD', key, 'GT', amount, member)
      if fr and (not before or amount >= tonumber(before)) then
        score, tied = raw_best[idx][member], before and amount == tonumber(before)
      end
    else
      score = redis.call('ZINCRBY', key, amount, member)
      if not fr then score = false end
    end
    if score then  -- first_reached: move the member in the order set to its score and reach time
      local old = redis.call('HGET', reach_key, member)
      if old then
        if tied and tonumber(old) < reach then reach = tonumber(old) end  -- best: reached it earlier
        if not best and tonumber(old) > reach then reach = tonumber(old) end  -- sum: a later write before
        redis.call('ZREM', order, order_name(old, member))
      end
      redis.call('ZADD', order, score, order_name(reach, member))
      redis.call('HSET', reach_key, member, string.format('%d', reach))
    end
  end
  local expire_at = tonumber(ARGV[6 + idx])
  if touched and expire_at > 0 then
    redis.call('EXPIREAT', key, expire_at)
    if fr then
      redis.call('EXPIREAT', order, expire_at)
      redis.call('EXPIREAT', reach_key, expire_at)
    end
  end
  if touched then
    redis.call('HINCRBY', KEYS[z + n + 1], idx == 1 and 'all' or string.match(key, ':(%a+):%d+$'), 1)
  end
end
return result
"""

CLAIM_WRITES_LUA = """
-- The request path's claim of write ids on their identity board, before the 202 (see ingest/claims.py), for
-- one request or several (the native write path's group commit), decided one request after another.
-- KEYS        the markers seen(identity board, write_id) of every request's writes, request after request
-- ARGV[1]     marker lifetime, seconds; ARGV[2] = r, the number of requests; ARGV[3..2+r] each request's
--             number of markers; ARGV[3+r..] the writes' fingerprints, in the order of KEYS
-- For each request: nothing is set unless none of its writes conflicts. Returns one reply per request:
-- {position of its first conflicting write or 0, positions of the markers this call set for it (the caller
-- releases them if it cannot accept the writes)...}.
local ttl, r = ARGV[1], tonumber(ARGV[2])
local replies, first = {}, 0
for q = 1, r do
  local n, fps = tonumber(ARGV[2 + q]), 2 + r + first
  local result = {0}
  for i = 1, n do
    local held, fp = redis.call('GET', KEYS[first + i]), ARGV[fps + i]
    if held and held ~= fp and held ~= 'c:' .. fp and held ~= '1' and held ~= '' and fp ~= '' then
      result[1] = i
      break
    end
  end
  if result[1] == 0 then
    for i = 1, n do
      if redis.call('SET', KEYS[first + i], 'c:' .. ARGV[fps + i], 'NX', 'EX', ttl) then result[#result + 1] = i end
    end
  end
  replies[q] = result
  first = first + n
end
return replies
"""

RELEASE_CLAIMS_LUA = """
-- KEYS[1..n] markers set by CLAIM_WRITES_LUA; ARGV[i] their claim value: deleted only if still that claim
local released = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then released = released + redis.call('DEL', KEYS[i]) end
end
return released
"""


class BoardWrite(NamedTuple):
    """One write's contribution to one board: `amount` minor units for `member` at event time `ts_ms`;
    `fp` the write's content fingerprint (ingest/writes.py)."""

    write_id: str
    member: str
    amount: int
    ts_ms: int
    fp: str = ""


@dataclass(frozen=True)
class BoardBatch:
    """The KEYS and ARGV of one script call; `write_ids` in marker order (a conflict position of the
    script's reply is an index into it, from 1), `conflicts` the ids repeated inside the batch with
    another fingerprint (dropped before the script: the first one counts)."""

    keys: list[str]
    args: list[Any]
    write_ids: list[str]
    conflicts: list[str]


def build_board_batch(
    board: str,
    mode: str,
    writes: Iterable[BoardWrite],
    *,
    marker_ttl: int,
    history_days: int,
    now: datetime | None = None,
    claimed: bool = False,
) -> BoardBatch:
    """KEYS/ARGV for APPLY_BOARD_BATCH_LUA (`claimed`: its ARGV[5], see there). `mode`: a board's write_mode
    ('sum', 'best', or either + ':first_reached'). Repeats of one write id are dropped (the first counts; a
    repeat with another fingerprint is reported in `conflicts`) and bucket sets whose expiry has passed are
    skipped (EXPIREAT in the past would delete the whole set)."""
    if mode not in WRITE_MODES:
        raise ValueError(f"unknown board mode {mode!r}")
    mode, _sep, ties = mode.partition(":")
    now_s = int((now or datetime.now(UTC)).timestamp())
    set_keys = [keys.all_time(board)]
    expiries = [0]
    set_index: dict[str, int] = {}
    markers: list[str] = []
    rows: list[Any] = []
    seen_ids: dict[str, str] = {}  # write id -> fingerprint
    write_ids: list[str] = []
    conflicts: list[str] = []
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
        first_fp = seen_ids.get(write.write_id)
        if first_fp is not None:
            if first_fp and write.fp and first_fp != write.fp:
                conflicts.append(write.write_id)
            continue
        seen_ids[write.write_id] = write.fp
        write_ids.append(write.write_id)
        hour_number = write.ts_ms // MS_PER_HOUR
        indexes = by_hour.get(hour_number)
        if indexes is None:
            indexes = by_hour[hour_number] = bucket_indexes(hour_number)
        markers.append(marker_prefix + write.write_id)
        rows.extend((write.member, write.amount, *indexes, write.fp, write.ts_ms))
    first_reached = ties == "first_reached"
    args: list[Any] = [len(set_keys), len(markers), mode, marker_ttl, "1" if claimed else "0",
                       "1" if first_reached else "0", *expiries, *rows]
    tie_keys = [*map(keys.tie_order, set_keys), *map(keys.tie_reach, set_keys)] if first_reached else []
    return BoardBatch([*set_keys, *markers, keys.live_changes(board), *tie_keys], args, write_ids, conflicts)


def chunked(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

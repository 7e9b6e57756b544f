"""Reads of the boards: which sorted set answers a period, ranks, percentiles, around-me, lists of members,
rolling-window materialization, and the archive of finished days.

Ranking rules (the README repeats them), for boards with `ties: shared` (the default; `first_reached`:
ranking/ties.py, every rank unique):
- Competition ranking: a member's rank is 1 + the number of members with a strictly higher score, so equal
  scores share a rank and the next rank skips ("1, 1, 3").
- Inside a tie, members are ordered by member id in DESCENDING byte order: Redis's own order for equal
  scores in ZREVRANGE/ZREVRANK, so every view (top list, around-me, snapshot pages) agrees without re-sorting.
- Percentile: the share of the period's members this member ranks at or above, in percent, two decimals:
  ``100 * (total - rank + 1) / total``. The leader is 100; tied members share a percentile.

Every function takes `now`; nothing here reads a clock. Each script or transaction touches one board's keys
only (one hash slot), so this runs unchanged on Redis Cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

from .. import keys
from ..clock import from_ms, to_ms
from .boards import Board
from .periods import ROLLING_HOURS, Period, day_bucket, day_bucket_expiry, day_start, hour_bucket, window_hours
from .ties import ORDER_NAME_LUA

# Every read below takes KEYS[2] = the board's disqualified hash (keys.disqualified: same {board} slot): its
# members keep their scores in the board's keys but are left out of every read as if they had none, so the
# others move up, and a reinstated member's scores are exactly what they were (moderation.py). The helpers find
# the disqualified members present in KEYS[1] (few: MAX_BOARD_DISQUALIFIED) and map positions past them.
# A `ties: first_reached` board is read from its order set (KEYS[1] = keys.tie_order(set), members
# `<reach prefix>:<member>`) with KEYS[3] = keys.tie_reach(set): `name` finds a member's entry, `plain` strips
# the prefix, and a rank is the member's position (unique), reported in the place of "how many score above".
DQ_HELPERS_LUA = ORDER_NAME_LUA + """
local fr = KEYS[3] ~= nil
local function name(member)
  if not fr then return member end
  local reach = redis.call('HGET', KEYS[3], member)
  if not reach then return nil end
  return order_name(reach, member)
end
local function plain(entry)
  if fr then return string.sub(entry, 16) end
  return entry
end
local function dq_in(key, dqkey)
  local out = {}
  for _, m in ipairs(redis.call('HKEYS', dqkey)) do
    local entry = name(m)
    local pos = entry and redis.call('ZREVRANK', key, entry)
    if pos then out[#out + 1] = {pos, tonumber(redis.call('ZSCORE', key, entry))} end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end
local function raw_pos(filtered, dq)
  local raw = filtered
  for _, d in ipairs(dq) do if d[1] <= raw then raw = raw + 1 end end
  return raw
end
local function filtered_pos(raw, dq)
  local pos = raw
  for _, d in ipairs(dq) do if d[1] < raw then pos = pos - 1 end end
  return pos
end
local function dq_above(dq, score)
  local n = 0
  for _, d in ipairs(dq) do if d[2] > score then n = n + 1 end end
  return n
end
-- (no disqualified member in `key`: none of its rows is one, so they are not looked up one by one)
local function fetch(key, dqkey, dq, start, count)
  local out = {}
  if count <= 0 then return out end
  local raw = raw_pos(start, dq)
  local rows = redis.call('ZREVRANGE', key, raw, raw + count + #dq - 1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    if #out >= 2 * count then break end
    local member = plain(rows[i])
    if #dq == 0 or redis.call('HEXISTS', dqkey, member) == 0 then
      out[#out + 1] = member
      out[#out + 1] = rows[i + 1]
    end
  end
  return out
end
"""

# KEYS[1]: one board period's sorted set, KEYS[2]: disqualified (KEYS[3]: first_reached). ARGV[1]: offset,
# ARGV[2]: rows wanted. Returns {total, above_first, member, score, ...}: the rows from `offset` and how many
# score above row 1 (first_reached: its position, the offset).
PAGE_LUA = DQ_HELPERS_LUA + """
local dq = dq_in(KEYS[1], KEYS[2])
local total = redis.call('ZCARD', KEYS[1]) - #dq
local rows = fetch(KEYS[1], KEYS[2], dq, tonumber(ARGV[1]), tonumber(ARGV[2]))
local above = 0
if fr then
  above = tonumber(ARGV[1])
elseif #rows > 0 then
  above = redis.call('ZCOUNT', KEYS[1], '(' .. rows[2], '+inf') - dq_above(dq, tonumber(rows[2]))
end
local out = {total, above}
for _, value in ipairs(rows) do out[#out + 1] = value end
return out
"""

# KEYS[1]: one board period's sorted set, KEYS[2]: disqualified (KEYS[3]: first_reached). ARGV: member ids.
# Returns {total, score_1, above_1, score_2, above_2, ...}; score "" when that member has no score.
RANKS_LUA = DQ_HELPERS_LUA + """
local dq = dq_in(KEYS[1], KEYS[2])
local out = {redis.call('ZCARD', KEYS[1]) - #dq}
for _, member in ipairs(ARGV) do
  local entry = name(member)
  local score = entry and redis.call('ZSCORE', KEYS[1], entry)
  if score and redis.call('HEXISTS', KEYS[2], member) == 0 then
    out[#out + 1] = score
    if fr then
      out[#out + 1] = filtered_pos(redis.call('ZREVRANK', KEYS[1], entry), dq)
    else
      out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf') - dq_above(dq, tonumber(score))
    end
  else
    out[#out + 1] = ''
    out[#out + 1] = 0
  end
end
return out
"""

# KEYS[1]: one board period's sorted set, KEYS[2]: disqualified (KEYS[3]: first_reached). ARGV[1]: member id,
# ARGV[2]: rows wanted. Returns false when the member has no score, else {total, first_position, above_first,
# member, score, ...}: `size` rows around the member (centred, shifted to stay full at the edges) and how many
# score above row 1.
AROUND_LUA = DQ_HELPERS_LUA + """
local entry = name(ARGV[1])
local raw = entry and redis.call('ZREVRANK', KEYS[1], entry)
if not raw or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return false end
local dq = dq_in(KEYS[1], KEYS[2])
local pos = filtered_pos(raw, dq)
local total = redis.call('ZCARD', KEYS[1]) - #dq
local size = tonumber(ARGV[2])
local start = math.max(0, pos - math.floor((size - 1) / 2))
local stop = start + size - 1
if stop > total - 1 then
  stop = total - 1
  start = math.max(0, stop - size + 1)
end
local rows = fetch(KEYS[1], KEYS[2], dq, start, stop - start + 1)
local above = start
if not fr then above = redis.call('ZCOUNT', KEYS[1], '(' .. rows[2], '+inf') - dq_above(dq, tonumber(rows[2])) end
local out = {total, start, above}
for _, value in ipairs(rows) do out[#out + 1] = value end
return out
"""

# KEYS[1]: window, KEYS[2]: its scratch key, KEYS[3]: its stamp, KEYS[4..]: the hour buckets it covers.
# ARGV[1]: SUM or MAX, ARGV[2]: newest hour (YYYYmmddHH), ARGV[3]: as_of in epoch ms.
# Rebuilds the union into the scratch key and RENAMEs it over the window, atomically with its stamp.
MATERIALIZE_LUA = """
local args = {KEYS[2], #KEYS - 3}
for i = 4, #KEYS do args[#args + 1] = KEYS[i] end
args[#args + 1] = 'AGGREGATE'
args[#args + 1] = ARGV[1]
local count = redis.call('ZUNIONSTORE', unpack(args))
if count > 0 then
  redis.call('RENAME', KEYS[2], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[3], 'hour', ARGV[2], 'as_of_ms', ARGV[3])
return count
"""

# A first_reached board's window (ranking/ties.py): MATERIALIZE_LUA's union, and its order set and reach hash
# from the hour buckets' reach hashes. KEYS[1..3] as there, KEYS[4] window order set, KEYS[5] window reach
# hash, KEYS[6], KEYS[7] their scratch keys, KEYS[8..7+m] the hour buckets, KEYS[8+m..7+2m] their reach
# hashes. ARGV[1..3] as there, ARGV[4] m. Reach: sum (SUM) the latest over the buckets; best (MAX) the
# earliest among the buckets that hold the window's maximum. O(entries of the buckets).
MATERIALIZE_FR_LUA = ORDER_NAME_LUA + """
local m = tonumber(ARGV[4])
local args = {KEYS[2], m}
for i = 1, m do args[#args + 1] = KEYS[7 + i] end
args[#args + 1] = 'AGGREGATE'
args[#args + 1] = ARGV[1]
local count = redis.call('ZUNIONSTORE', unpack(args))
redis.call('DEL', KEYS[6], KEYS[7])
if count > 0 then
  local best, reach = ARGV[1] == 'MAX', {}
  for i = 1, m do
    local flat = redis.call('HGETALL', KEYS[7 + m + i])
    for j = 1, #flat, 2 do
      local member, at = flat[j], tonumber(flat[j + 1])
      local known = reach[member]
      if best then
        if (known == nil or at < known)
            and redis.call('ZSCORE', KEYS[7 + i], member) == redis.call('ZSCORE', KEYS[2], member) then
          reach[member] = at
        end
      elseif known == nil or at > known then
        reach[member] = at
      end
    end
  end
  for member, at in pairs(reach) do
    local score = redis.call('ZSCORE', KEYS[2], member)
    if score then
      redis.call('ZADD', KEYS[6], score, order_name(at, member))
      redis.call('HSET', KEYS[7], member, string.format('%d', at))
    end
  end
  redis.call('RENAME', KEYS[2], KEYS[1])
  if redis.call('EXISTS', KEYS[6]) == 1 then
    redis.call('RENAME', KEYS[6], KEYS[4])
    redis.call('RENAME', KEYS[7], KEYS[5])
  else
    redis.call('DEL', KEYS[4], KEYS[5])
  end
else
  redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
end
redis.call('HSET', KEYS[3], 'hour', ARGV[2], 'as_of_ms', ARGV[3])
return count
"""


PIPELINED_SCRIPTS = (RANKS_LUA, AROUND_LUA)  # the read scripts sent by SHA1 in pipelines (_pipelined)
RANKS_SHA, AROUND_SHA = (hashlib.sha1(script.encode()).hexdigest() for script in PIPELINED_SCRIPTS)


@dataclass(frozen=True)
class Ranked:
    """One member's place on one board period. `score` is in minor units."""

    rank: int
    member: str
    score: int


@dataclass(frozen=True)
class MemberRank:
    rank: int
    score: int
    total: int

    @property
    def percentile(self) -> float:
        return percentile(self.rank, self.total)


def percentile(rank: int, total: int) -> float:
    """100 * (total - rank + 1) / total, two decimals, computed exactly then rounded half-up."""
    value = (Decimal(100) * (total - rank + 1) / total).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    return float(value)


def format_score(minor: int, decimals: int) -> str:
    """Integer minor units as an exact decimal string in major units: 12345 with 2 decimals -> "123.45" (what
    `format(Decimal(minor).scaleb(-decimals), "f")` gives, in integer arithmetic: a member view formats a row
    each)."""
    if decimals == 0:
        return str(minor)
    if decimals < 0:
        return format(Decimal(minor).scaleb(-decimals), "f")
    whole, fraction = divmod(-minor if minor < 0 else minor, 10**decimals)
    return ("-" if minor < 0 else "") + str(whole) + "." + str(fraction).zfill(decimals)


def major_number(minor: int, decimals: int) -> int | float:
    """The seed-compatible JSON number: an int for boards without decimals."""
    return minor if decimals == 0 else float(Decimal(minor).scaleb(-decimals))


def parse_score(raw: bytes | str | float | int) -> int:
    """A sorted-set score back to its integer (Redis prints integral doubles below 2^53 exactly)."""
    if isinstance(raw, bytes | str) and raw.isascii() and raw.isdigit():  # Redis's form of an integral score >= 0
        return int(raw)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return int(Decimal(text))


def competition_ranks(rows: Iterable[tuple[str, int]], first_position: int, above_first: int,
                      unique: bool = False) -> list[Ranked]:
    """Ranks for consecutive rows of a descending list starting at `first_position` (0-based), where
    `above_first` members score strictly higher than the first row. `unique` (ties: first_reached): the
    rows are in their final order and a rank is the position."""
    ranked: list[Ranked] = []
    for offset, (member, score) in enumerate(rows):
        if unique:
            rank = first_position + offset + 1
        elif not ranked:
            rank = above_first + 1
        elif score == ranked[-1].score:
            rank = ranked[-1].rank
        else:
            rank = first_position + offset + 1
        ranked.append(Ranked(rank, member, score))
    return ranked


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


# --- which key answers a period ---
def period_key(board: str, period: Period, now: datetime) -> str:
    if period is Period.ALL:
        return keys.all_time(board)
    if period is Period.DAY:
        return keys.day(board, day_bucket(now))
    return keys.window(board, period)


def materialize_window(redis: Any, board: Board, period: Period, now: datetime) -> int:
    """Rebuild a rolling window from its hour buckets at `now`; returns its member count. Idempotent."""
    hours = window_hours(period, now)
    sources = [keys.hour(board.id, h) for h in hours]
    aggregate = "SUM" if board.mode == "sum" else "MAX"
    window, scratch = keys.window(board.id, period), keys.window_scratch(board.id, period)
    own = [window, scratch, keys.window_stamp(board.id, period)]
    args = [aggregate, hours[0].strftime("%Y%m%d%H"), to_ms(now)]
    if board.ties == "first_reached":
        tie_keys = [keys.tie_order(window), keys.tie_reach(window), keys.tie_order(scratch), keys.tie_reach(scratch)]
        script = redis.register_script(MATERIALIZE_FR_LUA)
        return int(script(keys=[*own, *tie_keys, *sources, *map(keys.tie_reach, sources)],
                          args=[*args, len(sources)]))
    script = redis.register_script(MATERIALIZE_LUA)
    return int(script(keys=own + sources, args=args))


def window_as_of(redis: Any, board: Board, period: Period, now: datetime, max_age: timedelta) -> datetime:
    """When the window a member view reads was materialized; rebuilt first if it is missing, for another
    hour than `now`'s, or older than `max_age` (so member views never lag the scheduler by more)."""
    as_of = stamp_as_of(redis.hmget(*stamp_fields(board, period)), now, max_age)
    if as_of is not None:
        return as_of
    materialize_window(redis, board, period, now)
    return now


def stamp_fields(board: Board, period: Period) -> tuple[str, str, str]:
    """HMGET arguments of a window's materialization stamp (its hour, its as_of)."""
    return keys.window_stamp(board.id, period), "hour", "as_of_ms"


def stamp_as_of(stamp: Sequence[Any], now: datetime, max_age: timedelta) -> datetime | None:
    """When the window was materialized, from its stamp (HMGET of `stamp_fields`), when that serves a member view
    at `now`; None when it is missing, for another hour than `now`'s or older than `max_age` (rebuild it)."""
    if stamp[0] is not None and stamp[1] is not None:
        as_of = from_ms(int(stamp[1]))
        if _text(stamp[0]) == hour_bucket(now).strftime("%Y%m%d%H") and timedelta(0) <= now - as_of <= max_age:
            return as_of
    return None


def view_as_of(redis: Any, board: Board, period: Period, now: datetime, max_age: timedelta) -> datetime:
    """The time a live member view is true at: now for day/all, the window's materialization otherwise."""
    if period in ROLLING_HOURS:
        return window_as_of(redis, board, period, now, max_age)
    return now


# --- live reads (O(log n) each) ---
def read_keys(key: str, ties: str) -> list[str]:
    """KEYS of the read scripts for one of a board's sorted sets: the set (a first_reached board: its order
    set) and the board's disqualified hash (first_reached: and the set's reach hash)."""
    if ties == "first_reached":
        return [keys.tie_order(key), keys.disqualified_of(key), keys.tie_reach(key)]
    return [key, keys.disqualified_of(key)]


def top(redis: Any, key: str, count: int, ties: str = "shared") -> tuple[int, list[Ranked]]:
    """(total, the first `count` ranked rows) read in one script so both describe the same moment."""
    total, rows = page_and_total(redis, key, 0, count, ties)
    return total, rows


def page(redis: Any, key: str, offset: int, count: int, ties: str = "shared") -> list[Ranked]:
    """Rows offset..offset+count-1 with their competition ranks (for archives, read live)."""
    return page_and_total(redis, key, offset, count, ties)[1]


def page_and_total(redis: Any, key: str, offset: int, count: int, ties: str = "shared") -> tuple[int, list[Ranked]]:
    """(total, rows offset..offset+count-1) in one script: both leave the disqualified members out."""
    raw = redis.register_script(PAGE_LUA)(keys=read_keys(key, ties), args=[offset, count])
    total, above, flat = int(raw[0]), int(raw[1]), raw[2:]
    rows = [(_text(flat[i]), parse_score(flat[i + 1])) for i in range(0, len(flat), 2)]
    return total, competition_ranks(rows, offset, above, unique=ties == "first_reached")


def member_ranks(redis: Any, key: str, members: Sequence[str], ties: str = "shared"
                 ) -> tuple[int, dict[str, MemberRank]]:
    """(total, rank of every member that has a score), atomically, O(log n) per member."""
    return _ranks_of(redis.register_script(RANKS_LUA)(keys=read_keys(key, ties), args=list(members)), members)


def _ranks_of(raw: Any, members: Sequence[str]) -> tuple[int, dict[str, MemberRank]]:
    total = int(raw[0])
    found: dict[str, MemberRank] = {}
    for index, member in enumerate(members):
        score, above = raw[1 + 2 * index], raw[2 + 2 * index]
        if _text(score) != "":
            found[member] = MemberRank(int(above) + 1, parse_score(score), total)
    return total, found


def around(redis: Any, key: str, member: str, size: int, ties: str = "shared") -> tuple[int, list[Ranked]] | None:
    """(total, `size` ranked rows around `member`, full at the edges); None when it has no score."""
    return _around_rows(redis.register_script(AROUND_LUA)(keys=read_keys(key, ties), args=[member, size]), ties)


def around_many(redis: Any, key: str, wanted: Sequence[tuple[str, int]], ties: str = "shared",
                stamp: tuple[str, str, str] | None = None) -> tuple[Any, list[tuple[int, list[Ranked]] | None]]:
    """(the window stamp HMGET `stamp` asks for, else None; `around` of each (member, size) of one sorted set), in
    one round trip: a pipeline (not a transaction) of the stamp read and the same script's calls, each atomic as
    `around`'s is (on Redis Cluster, whose client refuses scripts in a pipeline: one call each, in that order)."""
    read = read_keys(key, ties)
    if isinstance(redis, RedisCluster):
        script = redis.register_script(AROUND_LUA)
        stamped = redis.hmget(*stamp) if stamp else None
        return stamped, [_around_rows(script(keys=read, args=[member, size]), ties) for member, size in wanted]

    def fill(pipe: Any) -> None:
        if stamp:
            pipe.hmget(*stamp)
        for member, size in wanted:
            pipe.evalsha(AROUND_SHA, len(read), *read, member, size)

    raws = _pipelined(redis, fill)
    stamped = raws.pop(0) if stamp else None
    return stamped, [_around_rows(raw, ties) for raw in raws]


def ranks_and_names(redis: Any, key: str, members: Sequence[str], ties: str = "shared",
                    stamp: tuple[str, str, str] | None = None
                    ) -> tuple[Any, int, dict[str, MemberRank], dict[str, str]]:
    """(the window stamp HMGET `stamp` asks for, else None; `member_ranks`; `display_names` of `members`) in one
    round trip: a pipeline (not a transaction) of the stamp read, the rank script and the names read, in that
    order (on Redis Cluster, whose client refuses scripts in a pipeline: one call each)."""
    if isinstance(redis, RedisCluster):
        stamped = redis.hmget(*stamp) if stamp else None
        total, found = member_ranks(redis, key, members, ties)
        return stamped, total, found, display_names(redis, members)
    read = read_keys(key, ties)

    def fill(pipe: Any) -> None:
        if stamp:
            pipe.hmget(*stamp)
        pipe.evalsha(RANKS_SHA, len(read), *read, *members)
        pipe.hmget(keys.display_names(), list(members))

    raws = _pipelined(redis, fill)
    stamped = raws.pop(0) if stamp else None
    total, found = _ranks_of(raws[0], members)
    return stamped, total, found, _names_of(members, raws[1])


def _pipelined(redis: Any, fill: Callable[[Any], None]) -> list[Any]:
    """The replies of the commands `fill(pipe)` queues on a pipeline (not a transaction): one round trip; scripts
    go by their SHA1 (PIPELINED_SCRIPTS), loaded once when Redis does not know one (a restart, SCRIPT FLUSH).
    Raises the first error."""

    def attempt() -> list[Any]:
        pipe = redis.pipeline(transaction=False)
        fill(pipe)
        return list(pipe.execute(raise_on_error=False))

    raws = attempt()
    if any(isinstance(raw, NoScriptError) for raw in raws):
        for script in PIPELINED_SCRIPTS:
            redis.script_load(script)
        raws = attempt()
    for raw in raws:
        if isinstance(raw, Exception):
            raise raw
    return raws


def _around_rows(raw: Any, ties: str) -> tuple[int, list[Ranked]] | None:
    if not raw:
        return None
    total, start, above = int(raw[0]), int(raw[1]), int(raw[2])
    flat = raw[3:]
    rows = [(_text(flat[i]), parse_score(flat[i + 1])) for i in range(0, len(flat), 2)]
    return total, competition_ranks(rows, start, above, unique=ties == "first_reached")


def display_names(redis: Any, members: Sequence[str]) -> dict[str, str]:
    """Registered users' display names; a member without one shows as its id."""
    if not members:
        return {}
    return _names_of(members, redis.hmget(keys.display_names(), list(members)))


def _names_of(members: Sequence[str], names: Sequence[Any]) -> dict[str, str]:
    return {m: (_text(n) if n is not None else m) for m, n in zip(members, names, strict=True)}


# --- archives of finished days ---
def archive_day(redis: Any, board: str, day: date, history_days: int) -> bool:
    """Record a finished day board in the history index (and make sure it expires); False if it has no data.
    Idempotent: the day key itself is the archive."""
    day_key = keys.day(board, day)
    if not redis.exists(day_key):
        return False
    pipe = redis.pipeline(transaction=True)
    pipe.expireat(day_key, day_bucket_expiry(day, history_days))
    pipe.zadd(keys.history_index(board), {day.isoformat(): int(day_start(day).timestamp())})
    pipe.execute()
    return True


def prune_history(redis: Any, board: str, today: date, history_days: int) -> int:
    """Drop index entries of days older than `history_days` (their day keys expire on their own)."""
    oldest_kept = day_start(today - timedelta(days=history_days))
    return int(redis.zremrangebyscore(keys.history_index(board), "-inf", f"({int(oldest_kept.timestamp())}"))


def archived_days(redis: Any, board: str) -> list[date]:
    return [date.fromisoformat(_text(d)) for d in redis.zrevrange(keys.history_index(board), 0, -1)]


def history_readable(redis: Any, board: str, day: date, today: date, history_days: int) -> bool:
    """A finished day within `history_days` whose board has data (archived or not yet indexed)."""
    if not today - timedelta(days=history_days) <= day < today:
        return False
    return bool(redis.exists(keys.day(board, day)))


def expire_old_buckets(redis: Any, board: str, now: datetime, history_days: int) -> int:
    """Delete hour buckets past the longest window and day boards past history (a safety net: the write
    path sets EXPIREAT on both). Looks at the two days just beyond reach, so it stays O(1) per run."""
    longest = max(ROLLING_HOURS.values())
    newest_dead_hour = hour_bucket(now) - timedelta(hours=longest + 1)
    hour_keys = [keys.hour(board, newest_dead_hour - timedelta(hours=i)) for i in range(48)]
    newest_dead_day = day_bucket(now) - timedelta(days=history_days + 1)
    day_keys = [keys.day(board, newest_dead_day - timedelta(days=i)) for i in range(2)]
    return int(redis.unlink(*hour_keys, *day_keys))

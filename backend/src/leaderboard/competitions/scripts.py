"""The one Lua script every change of a competition goes through (atomic, one hash slot `{comp:ID}`).

Keys (all the competition's, fixed order): all, vol, rank, members, dq, asof, closed, audit, live (the
competition's live change marks, `keys.live_changes('comp:ID')`: same `{comp:ID}` slot), then the exactly-once
markers of the trades of a `trades` call. ARGV[1..10] describe the competition (from its
immutable spec), ARGV[11..] the operation's rows.

After any change to a member, `refresh(member)` decides whether it ranks: it is in `rank` (with its encoded
score from `all`) exactly when it has a score, is a participant (or registration is `none`), is not
disqualified and has the volume to qualify. So the others move up the moment one is disqualified, and a
trader who joins late brings every trade of the window with it. Every op that changes something adds 1 to the
live marks' `all` counter in the same atomic step, so the live ticker republishes the competition's board.
"""

from __future__ import annotations

from typing import Any

from .. import keys
from . import model

PARTS = ("all", "vol", "rank", "members", "dq", "asof", "closed", "audit")
LIVE_PERIOD = "all"  # the one live "period" of a competition board


def live_board(comp_id: str) -> str:
    """The id a competition's board has in the live tier (its keys.live_* keys, events and streams)."""
    return f"comp:{comp_id}"

COMPETITION_LUA = """
local K_ALL, K_VOL, K_RANK, K_MEMBERS, K_DQ, K_ASOF, K_CLOSED, K_AUDIT, K_LIVE = 1, 2, 3, 4, 5, 6, 7, 8, 9
local op, metric, registration = ARGV[1], ARGV[2], ARGV[3]
local min_vol, shift, slots = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local max_score, starts, resolution, ttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]

local function num(x) return string.format('%.0f', x) end
local function clamp(v)
  if v > max_score then return max_score end
  if v < -max_score then return -max_score end
  return v
end
local function slot_of(ts) return math.floor((ts - starts) / resolution) end
local function encode(score, slot)
  if shift == 1 then return clamp(score) end  -- shared ties: the plain score
  return clamp(score) * shift + (slots - 1 - slot)
end
local function decode(enc)
  if shift == 1 then return enc, 0 end
  local score = math.floor(enc / shift)
  return score, slots - 1 - (enc - score * shift)
end
local function refresh(m)
  local enc = redis.call('ZSCORE', KEYS[K_ALL], m)
  local ok = enc ~= false
  if ok and registration == 'open' then ok = redis.call('HEXISTS', KEYS[K_MEMBERS], m) == 1 end
  if ok then ok = redis.call('HEXISTS', KEYS[K_DQ], m) == 0 end
  if ok and min_vol > 0 then ok = tonumber(redis.call('ZSCORE', KEYS[K_VOL], m) or '0') >= min_vol end
  if ok then
    redis.call('ZADD', KEYS[K_RANK], enc, m)
  else
    redis.call('ZREM', KEYS[K_RANK], m)
  end
  return ok
end
local function closed() return redis.call('EXISTS', KEYS[K_CLOSED]) == 1 end
local function mark(changed) if changed then redis.call('HINCRBY', KEYS[K_LIVE], 'all', 1) end end

if op == 'trades' then
  -- ARGV[11..]: groups of 3: member, amount (minor units), event time ms; KEYS[9+i]: marker of write i
  if closed() then return -1 end
  local counted, touched = 0, {}
  local n = (#ARGV - 10) / 3
  for i = 1, n do
    local m, amount, ts = ARGV[8 + 3 * i], tonumber(ARGV[9 + 3 * i]), tonumber(ARGV[10 + 3 * i])
    if redis.call('SET', KEYS[9 + i], '1', 'NX', 'EX', ttl) then
      counted = counted + 1
      redis.call('ZINCRBY', KEYS[K_VOL], num(amount), m)
      if metric == 'volume' then
        local enc = redis.call('ZSCORE', KEYS[K_ALL], m)
        local score, slot = 0, slot_of(ts)
        if enc then
          local old_score, old_slot = decode(tonumber(enc))
          score = old_score
          if old_slot > slot then slot = old_slot end
        end
        redis.call('ZADD', KEYS[K_ALL], num(encode(score + amount, slot)), m)
      end
      touched[m] = true
    end
  end
  for m in pairs(touched) do refresh(m) end
  mark(counted > 0)
  return counted
elseif op == 'metrics' then
  -- ARGV[11..]: groups of 3: member, value (minor units, signed), as_of ms. Last as_of wins; an as_of
  -- not newer than the member's last one counts nothing (exactly once per (trader, as_of)).
  if closed() then return -1 end
  local counted = 0
  local n = (#ARGV - 10) / 3
  for i = 1, n do
    local m, value, as_of = ARGV[8 + 3 * i], tonumber(ARGV[9 + 3 * i]), tonumber(ARGV[10 + 3 * i])
    local last = redis.call('HGET', KEYS[K_ASOF], m)
    if (not last) or tonumber(last) < as_of then
      redis.call('HSET', KEYS[K_ASOF], m, num(as_of))
      redis.call('ZADD', KEYS[K_ALL], num(encode(value, slot_of(as_of))), m)
      refresh(m)
      counted = counted + 1
    end
  end
  mark(counted > 0)
  return counted
elseif op == 'join' then
  -- ARGV[11] member, ARGV[12] now ms. 1 joined, 0 already a participant, -1 closed
  if closed() then return -1 end
  local added = redis.call('HSETNX', KEYS[K_MEMBERS], ARGV[11], ARGV[12])
  refresh(ARGV[11])
  mark(added == 1)
  return added
elseif op == 'leave' then
  if closed() then return -1 end
  local removed = redis.call('HDEL', KEYS[K_MEMBERS], ARGV[11])
  refresh(ARGV[11])
  mark(removed == 1)
  return removed
elseif op == 'disqualify' then
  -- ARGV[11] member, ARGV[12] record JSON, ARGV[13] audit JSON
  if closed() then return -1 end
  local new = redis.call('HSET', KEYS[K_DQ], ARGV[11], ARGV[12])
  redis.call('RPUSH', KEYS[K_AUDIT], ARGV[13])
  refresh(ARGV[11])
  mark(true)
  return new
elseif op == 'reinstate' then
  if closed() then return -1 end
  local removed = redis.call('HDEL', KEYS[K_DQ], ARGV[11])
  if removed == 1 then redis.call('RPUSH', KEYS[K_AUDIT], ARGV[13]) end
  refresh(ARGV[11])
  mark(removed == 1)
  return removed
elseif op == 'forget' then
  -- delete a user: every trace of ARGV[11] in this competition; audit entries naming it are dropped
  local m = ARGV[11]
  local found = 0
  for _, k in ipairs({KEYS[K_ALL], KEYS[K_VOL], KEYS[K_RANK]}) do found = found + redis.call('ZREM', k, m) end
  for _, k in ipairs({KEYS[K_MEMBERS], KEYS[K_DQ], KEYS[K_ASOF]}) do found = found + redis.call('HDEL', k, m) end
  local entries = redis.call('LRANGE', KEYS[K_AUDIT], 0, -1)
  for _, entry in ipairs(entries) do
    if cjson.decode(entry)['member'] == m then redis.call('LREM', KEYS[K_AUDIT], 0, entry) end
  end
  mark(found > 0)
  return found
elseif op == 'close' then
  redis.call('SET', KEYS[K_CLOSED], ARGV[11], 'NX')
  return 1
end
return redis.error_reply('unknown op ' .. op)
"""


def competition_keys(comp_id: str) -> list[str]:
    return [keys.competition(comp_id, part) for part in PARTS] + [keys.live_changes(live_board(comp_id))]


def spec_args(comp: model.Competition, op: str, marker_ttl: int = 0) -> list[Any]:
    return [op, comp.metric, comp.registration, comp.min_volume, comp.shift, comp.slots, comp.max_score,
            comp.starts_at_ms, comp.resolution_ms, marker_ttl]


class Scripts:
    """The registered script, run against one client."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.script = redis.register_script(COMPETITION_LUA)

    def run(self, comp: model.Competition, op: str, rows: list[Any], markers: list[str] | None = None,
            marker_ttl: int = 0) -> int:
        all_keys = competition_keys(comp.id) + (markers or [])
        return int(self.script(keys=all_keys, args=spec_args(comp, op, marker_ttl) + rows))

"""Deleting a user everywhere (privacy requests).

Competitions first, each through its script (`forget`: every sorted set, hash and audit entry of the member,
atomically in its slot) and its teams; a finished competition's frozen result keeps its ranks and prizes but
shows the member as `deleted`. Then one sweep over the keyspace (every node of a cluster) removes what is
left: the member from every sorted set, hash and set (boards, day archives, windows, display names), keys
whose name has the member as a component (its account, rate-limit counters), and stored JSON that mentions it
(a list snapshot is dropped and rebuilt by the next refresh or read; a live event stream naming it is dropped,
so a client resuming from it gets a fresh snapshot). The record kept says when and by whom,
never whose data it was. The sweep is O(keys): an admin operation, not a hot path.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .. import keys
from ..ranking.ties import order_match
from .scripts import Scripts
from .service import CompetitionRegistry

DELETED = "deleted"
_COMPONENTS = re.compile(r"[:/{}]")
LIVE_EVENTS = ":live:events:"  # keys.live_events: the only Redis Streams the sweep touches (never the trade feed)

FORGET_TEAM_LUA = """
-- KEYS: teams, team_of. ARGV[1]: member. Removes it from its team (a team left empty is deleted).
local team_id = redis.call('HGET', KEYS[2], ARGV[1])
if not team_id then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local raw = redis.call('HGET', KEYS[1], team_id)
if not raw then return 1 end
local team = cjson.decode(raw)
local kept = {}
for _, m in ipairs(team['members']) do if m ~= ARGV[1] then table.insert(kept, m) end end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], team_id)
  return 1
end
team['members'] = kept
if team['captain'] == ARGV[1] then team['captain'] = kept[1] end
redis.call('HSET', KEYS[1], team_id, cjson.encode(team))
return 1
"""


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _anonymize_results(redis: Any, key: str, member: str) -> bool:
    raw = redis.get(key)
    if raw is None:
        return False
    results = orjson.loads(raw)
    changed = False
    for row in results.get("entries", []):
        if row.get("user_id") == member:
            row["user_id"], row["user_name"], changed = DELETED, DELETED, True
    for team in results.get("teams", []):
        if member in team.get("members", []):
            team["members"] = [DELETED if m == member else m for m in team["members"]]
            changed = True
    if changed:
        redis.set(key, orjson.dumps(results), keepttl=True)
    return changed


def delete_user(redis: Any, registry: CompetitionRegistry, member: str, by: str, at_iso: str) -> int:
    """Remove every trace of `member`; how many keys changed."""
    changed = 0
    scripts = Scripts(redis)
    registry.invalidate()
    for comp in registry.all().values():
        changed += int(scripts.run(comp, "forget", [member]) > 0)
        changed += int(redis.register_script(FORGET_TEAM_LUA)(
            keys=[keys.competition(comp.id, "teams"), keys.competition(comp.id, "team_of")], args=[member]))
        changed += int(_anonymize_results(redis, keys.competition(comp.id, "final"), member))
    changed += _sweep(redis, member)
    redis.rpush(keys.deletions(), orjson.dumps({"at": at_iso, "by": by}))
    return changed


def _sweep(redis: Any, member: str) -> int:
    quoted = orjson.dumps(member)
    encoded = member.encode()
    changed = 0
    for raw_key in redis.scan_iter(count=1000):
        key = _text(raw_key)
        if member in _COMPONENTS.split(key):
            changed += int(redis.delete(key))
            continue
        kind = _text(redis.type(key))
        if kind == "zset":
            changed += int(redis.zrem(key, member))
            if key.endswith(":ord"):  # a first_reached board's order set: entries '<reach prefix>:<member>'
                entries = [name for name, _score in redis.zscan_iter(key, match=order_match(member))]
                changed += int(redis.zrem(key, *entries)) if entries else 0
        elif kind == "hash":
            changed += int(redis.hdel(key, member))
            if any(quoted in value or value == encoded for value in redis.hvals(key)):
                changed += int(redis.delete(key))  # a list snapshot {as_of_ms, json}: rebuilt by the next read
        elif kind == "set":
            changed += int(redis.srem(key, member))
        elif kind == "string":
            value = redis.get(key)
            if value is not None and (quoted in value or value == encoded):
                changed += int(redis.delete(key))
        elif kind == "list" and key.endswith(":audit"):  # a board's moderation trail: entries naming it go
            for entry in redis.lrange(key, 0, -1):
                if quoted in entry:
                    changed += int(redis.lrem(key, 0, entry) > 0)
        elif kind == "stream" and LIVE_EVENTS in key and any(quoted in value for _id, fields in redis.xrange(key)
                                      for value in fields.values()):
            changed += int(redis.delete(key))  # live events naming it: a resuming client gets a fresh snapshot
    return changed

"""Single-use score actions: POST /v1/actions hands one out, POST /v1/scores consumes it.

An action is one Redis hash `keys.action(id)` {owner, expires_at_ms, used}, so checking and consuming it is
one atomic script over one key (legal on Redis Cluster). The key outlives the action's expiry by
ACTION_EXPIRED_GRACE_SECONDS (to answer 410 rather than 404), and once used it is kept for the dedupe
window, so a second use is a 409 rather than a fresh start. The consume stores the score's content
fingerprint (ingest/writes.py): a second use with the same content is a client's retry (`retry`: accepted
again, and the apply's marker counts it once), with other content `used` (409).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from .. import keys

CONSUME_ACTION_LUA = """
-- KEYS[1]  the action hash {owner, expires_at_ms, used}
-- ARGV[1]  caller's username
-- ARGV[2]  '1' if the caller may use anyone's action (service/admin), else '0'
-- ARGV[3]  now, epoch ms
-- ARGV[4]  seconds to keep a used action (the dedupe window)
-- ARGV[5]  the score's content fingerprint
-- Returns one of: ok, retry (used before for this very content), not_found, forbidden, used, expired
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
local owner, expires_at, used, fp = unpack(redis.call('HMGET', KEYS[1], 'owner', 'expires_at_ms', 'used', 'fp'))
if owner ~= ARGV[1] and ARGV[2] ~= '1' then return 'forbidden' end
if used == '1' then
  if fp == ARGV[5] then return 'retry' end
  return 'used'
end
if tonumber(expires_at) <= tonumber(ARGV[3]) then return 'expired' end
redis.call('HSET', KEYS[1], 'used', '1', 'fp', ARGV[5])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 'ok'
"""

GIVE_BACK_ACTION_LUA = """
-- KEYS[1]  the action hash; marks it unused again only if it still exists (never recreates it)
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'used', '0') end
return 1
"""

OUTCOMES = ("ok", "retry", "not_found", "forbidden", "used", "expired")


class ActionStore:
    def __init__(self, redis: Any, ttl_seconds: int, grace_seconds: int, used_keep_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.grace_seconds = grace_seconds
        self.used_keep_seconds = used_keep_seconds
        self._consume = redis.register_script(CONSUME_ACTION_LUA)
        self._give_back = redis.register_script(GIVE_BACK_ACTION_LUA)

    def create(self, owner: str, now: datetime | None = None) -> tuple[str, datetime]:
        """A new action for `owner`: (action_id, expires_at)."""
        now = now or datetime.now(UTC)
        action_id = secrets.token_urlsafe(18)
        expires_at_ms = int(now.timestamp() * 1000) + self.ttl_seconds * 1000
        key = keys.action(action_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"owner": owner, "expires_at_ms": expires_at_ms, "used": "0"})
            pipe.expire(key, self.ttl_seconds + self.grace_seconds)
            pipe.execute()
        return action_id, datetime.fromtimestamp(expires_at_ms / 1000, UTC)

    def consume(self, action_id: str, caller: str, privileged: bool, fp: str = "",
                now: datetime | None = None) -> str:
        """Mark the action used for the content `fp` if the caller may use it; returns one of OUTCOMES."""
        now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
        args = [caller, "1" if privileged else "0", now_ms, self.used_keep_seconds, fp]
        outcome = self._consume(keys=[keys.action(action_id)], args=args)
        return outcome.decode() if isinstance(outcome, bytes) else str(outcome)

    def give_back(self, action_id: str) -> None:
        """Undo a consume whose score could not be accepted (the buffer filled up meanwhile)."""
        self._give_back(keys=[keys.action(action_id)])

"""A Redis lock owned by a token: SET NX PX to take it, compare-and-delete (Lua) to release it, so a holder
whose lock expired never releases someone else's."""

from __future__ import annotations

import uuid
from typing import Any

from .. import keys

# KEYS[1]: the lock. ARGV[1]: the owner's token. Deletes only when the token matches.
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class JobLock:
    def __init__(self, redis: Any, job: str, ttl_ms: int) -> None:
        self.redis = redis
        self.key = keys.job_lock(job)
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> bool:
        return bool(self.redis.register_script(RELEASE_LUA)(keys=[self.key], args=[self.token]))

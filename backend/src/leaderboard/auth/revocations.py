"""The revocation list: revoked token ids, ended sessions and "log out everywhere" generations, in Redis.

A refresh rotates the token pair: the used refresh token's jti is revoked at once, atomically with the check,
so a second use fails, and a second use ends the whole session (sid). Logout revokes the sid, which kills
both tokens of the login. Every key has a TTL equal to the longest remaining token life.

A worker may cache a "not revoked" answer for REVOCATION_CACHE_SECONDS: that is the stated bound for a
revocation made by another process to take effect; revocations made in this process take effect at once.

A store like `users`: it takes a Redis client and plain settings values; the tokens themselves are issued and
verified at the web edge (api/tokens.py, flask-jwt-extended), which asks this list.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis.exceptions import RedisError

from .. import keys, metrics
from ..redis_client import BoundedRedis

log = logging.getLogger(__name__)


class RevocationList:
    """Revoked token ids and sessions, with a short per-process cache of negative answers."""

    def __init__(self, redis: Any, cache_seconds: float, refresh_ttl: int, check: BoundedRedis | None = None) -> None:
        self.redis = redis
        self.cache_seconds = cache_seconds
        self.refresh_ttl = refresh_ttl  # seconds: a refresh token's life, so every revocation outlives its tokens
        self.check = check  # the bounded client of the per-request check (default: `redis`)
        self._not_revoked_until: dict[str, float] = {}
        self._revoked_here: set[str] = set()
        self._lock = threading.Lock()

    def is_revoked(self, payload: dict[str, Any]) -> bool:
        revoked = self._is_revoked(payload)
        if revoked and payload.get("type") == "refresh":
            # a refresh token is revoked once used: presenting it again means two parties hold it (one of
            # them a thief), so the whole session ends, the tokens already rotated from it included
            self._end_reused_session(payload)
        return revoked

    def known_not_revoked(self, payload: dict[str, Any]) -> bool:
        """True when this process's cache already says `payload` is not revoked (no Redis call); False means
        unknown: ask `is_revoked`."""
        return self.trusted_for(payload) > 0

    def trusted_for(self, payload: dict[str, Any]) -> float:
        """Seconds this process may still trust its cached "not revoked" answer for `payload` (0: unknown, or
        revoked here)."""
        jti, sid = payload["jti"], payload.get("sid", "")
        with self._lock:
            if jti in self._revoked_here or sid in self._revoked_here:
                return 0.0
            return max(0.0, self._not_revoked_until.get(jti, 0.0) - time.monotonic())

    def _end_reused_session(self, payload: dict[str, Any]) -> None:
        sid = payload.get("sid", "")
        with self._lock:
            if sid in self._revoked_here:
                return
        try:
            self.revoke_session(payload)
        except RedisError:
            metrics.REDIS_ERRORS.labels("auth").inc()
            return
        log.warning("refresh token reused: session revoked", extra={"event": "refresh_reuse"})

    def recheck(self, payload: dict[str, Any]) -> bool:
        """`is_revoked` of an access token, asking Redis even while the cached "not revoked" answer holds (which
        a "not revoked" from Redis renews): api/native_trades.py renews it ahead of time."""
        return self._is_revoked(payload, cached=False)

    def _is_revoked(self, payload: dict[str, Any], cached: bool = True) -> bool:
        jti, sid = payload["jti"], payload.get("sid", "")
        now = time.monotonic()
        with self._lock:
            if jti in self._revoked_here or sid in self._revoked_here:
                return True
            if cached and self._not_revoked_until.get(jti, 0.0) > now:
                return False
        # Redis slow or down: writes must keep being accepted (WAL + buffer) without waiting on it, so the
        # check is bounded (REQUEST_REDIS_TIMEOUT_MS) and the token is trusted on its signature and expiry alone
        # until Redis answers again; access tokens are short-lived (ACCESS_TOKEN_MINUTES).
        if self.check is not None and not self.check.available():
            return False
        try:
            client = self.check.client if self.check is not None else self.redis
            token, session, generation = client.mget(keys.revoked_token(jti), keys.revoked_session(sid),
                                                     keys.token_generation(str(payload.get("sub", ""))))
            revoked = token is not None or session is not None or int(generation or 0) > token_gen(payload)
        except RedisError as exc:
            metrics.REDIS_ERRORS.labels("auth").inc()
            if self.check is None or self.check.failed():
                log.warning("revocation list unreachable; tokens accepted on signature",
                            extra={"event": "revocation_unchecked", "error": exc.__class__.__name__})
            return False
        if not revoked:
            with self._lock:
                if len(self._not_revoked_until) > 100_000:  # bound the cache; drop expired entries
                    self._not_revoked_until = {k: t for k, t in self._not_revoked_until.items() if t > now}
                self._not_revoked_until[jti] = now + self.cache_seconds
        return revoked

    def _forget(self, *ids: str) -> None:
        with self._lock:
            self._revoked_here.update(ids)
            if len(self._revoked_here) > 100_000:
                self._revoked_here = set(ids)
            for token_id in ids:
                self._not_revoked_until.pop(token_id, None)

    def consume_refresh(self, payload: dict[str, Any]) -> bool:
        """Mark a refresh token used; False if it was used (or revoked) before. A refresh token used twice
        was stolen (or leaked): its whole session ends, so the thief's rotated tokens stop working too."""
        first_use = self.redis.set(keys.revoked_token(payload["jti"]), b"1", nx=True, ex=self.refresh_ttl)
        self._forget(payload["jti"])
        if not first_use:  # two requests raced with one refresh token: the same as a reuse
            self._end_reused_session(payload)
            return False
        return not self.redis.exists(keys.revoked_session(payload.get("sid", "")))

    def revoke_session(self, payload: dict[str, Any]) -> None:
        sid = payload.get("sid", "")
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(keys.revoked_session(sid), b"1", ex=self.refresh_ttl)
        pipe.set(keys.revoked_token(payload["jti"]), b"1", ex=self.refresh_ttl)
        pipe.execute()
        self._forget(sid, payload["jti"])

    def revoke_user(self, username: str) -> None:
        """Log out everywhere: every token of `username` issued before now is revoked (other workers stop
        trusting them within REVOCATION_CACHE_SECONDS, this one at once)."""
        key = keys.token_generation(username)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.refresh_ttl)  # outlives every token issued before it (refresh tokens live that long)
        pipe.execute()
        with self._lock:
            self._not_revoked_until.clear()


def token_gen(payload: dict[str, Any]) -> int:
    gen = payload.get("gen", 0)
    return gen if isinstance(gen, int) and not isinstance(gen, bool) else 0

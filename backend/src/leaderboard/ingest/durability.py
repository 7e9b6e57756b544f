"""When an applied write is safe from a power cut in Redis too, so its WAL segment may go.

Redis answers a write once it is in memory; its AOF reaches the disk later under `appendfsync everysec` (the
embedded Redis and compose) and whenever the OS decides under `appendfsync no`. A WAL segment deleted as soon
as Redis confirmed the apply could therefore lose, on a kernel crash or power cut, writes that WAL_FSYNC=always
promised to keep. So the write path releases WAL segments only once Redis's copy is durable:

- `appendonly yes` + `appendfsync always`: durable when Redis answers; released at once;
- `appendonly yes` on Redis 7.2+: `WAITAOF 1 0` after each flush (returns once the local AOF is fsynced);
- `appendonly no`: Redis keeps no log, a restart loses everything since its last snapshot; holding segments
  would protect nothing, so they go at once and /ready says the combination survives process crashes only;
- otherwise (everysec before Redis 7.2, `appendfsync no`, or CONFIG not allowed, as on managed Redis):
  applied segments are kept REDIS_DURABILITY_GRACE_MS (2 s, longer than everysec's 1 s) before they go. A
  process that dies meanwhile leaves them to be replayed, which the exactly-once markers make harmless, and a
  replay after Redis lost its last second restores exactly what it lost.

`probe()` reads the combination at start; `guarantee` says in words what it survives (logged, and shown in
/ready under checks.ingest.durability).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FSYNC_ALWAYS, WAITAOF, GRACE, NO_AOF = "fsync_always", "waitaof", "grace", "no_aof"


def probe(redis: Any) -> dict[str, Any]:
    """Redis's appendonly / appendfsync / version and what they make of the write path's durability."""
    found: dict[str, Any] = {"appendonly": "unknown", "appendfsync": "unknown", "redis_version": "unknown"}
    with contextlib.suppress(RedisError):  # CONFIG is often disabled on managed Redis
        config = redis.config_get("append*")
        found["appendonly"] = _text(config.get("appendonly", "unknown"))
        found["appendfsync"] = _text(config.get("appendfsync", "unknown"))
    with contextlib.suppress(RedisError):
        found["redis_version"] = str(redis.info("server").get("redis_version", "unknown"))
    aof, fsync = found["appendonly"] == "yes", found["appendfsync"]
    if aof and fsync == "always":
        mode, guarantee = FSYNC_ALWAYS, "power loss: Redis fsyncs every write before it answers"
    elif aof and _version(found["redis_version"]) >= (7, 2):
        mode, guarantee = WAITAOF, "power loss: WAL segments go only after WAITAOF confirmed Redis's fsync"
    elif aof and fsync == "everysec":
        mode, guarantee = GRACE, ("power loss: WAL segments are kept past Redis's 1 s fsync interval "
                                  "(REDIS_DURABILITY_GRACE_MS) and replayed after a crash")
    elif aof:
        mode, guarantee = GRACE, ("process crashes only: Redis leaves fsync to the OS (appendfsync no), which may "
                                  "hold writes longer than REDIS_DURABILITY_GRACE_MS; set appendfsync everysec")
    elif found["appendonly"] == "no":  # holding segments would protect nothing: Redis keeps no log to lose
        mode, guarantee = NO_AOF, ("process crashes only: Redis has no AOF (appendonly no), a Redis restart loses "
                                  "everything since its last snapshot; set appendonly yes")
    else:
        mode, guarantee = GRACE, ("unknown: Redis's AOF settings cannot be read (CONFIG disabled); WAL segments "
                                  "are kept REDIS_DURABILITY_GRACE_MS, which covers appendfsync everysec")
    return {**found, "mode": mode, "guarantee": guarantee}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _version(text: str) -> tuple[int, int]:
    try:
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


Release = Callable[[Any, int], None]  # (WAL segment, writes of it now durable in Redis)


class DurabilityGate:
    """Between "applied" and "released to the WAL" (see the module docstring)."""

    def __init__(self, redis: Any, release: Release, grace_s: float, state: Mapping[str, Any] | None = None) -> None:
        self.redis = redis
        self.release = release
        self.grace_s = grace_s
        # until Redis has been asked (off the request path, by the flusher thread: `ensure_probed`), hold
        # segments as the safe default does
        self.state: dict[str, Any] = dict(state) if state is not None else {
            "appendonly": "unknown", "appendfsync": "unknown", "redis_version": "unknown", "mode": GRACE,
            "guarantee": "not read yet: WAL segments are kept REDIS_DURABILITY_GRACE_MS meanwhile"}
        self.mode = self.state["mode"]
        self.probed = state is not None
        self._held: deque[tuple[float, dict[Any, int]]] = deque()
        self._lock = threading.Lock()

    def ensure_probed(self) -> bool:
        """Read Redis's AOF settings once it answers (the flusher thread calls this between flushes)."""
        if self.probed:
            return True
        try:
            self.redis.ping()
        except RedisError:
            return False  # Redis down: keep the safe default, ask again next time
        self.state = probe(self.redis)
        self.mode, self.probed = self.state["mode"], True
        log.info("redis durability", extra={"event": "redis_durability", **self.state})
        return True

    def applied(self, counts: dict[Any, int]) -> None:
        """`counts` writes of each segment were just applied (called by the flusher thread after a flush)."""
        if self.mode in (FSYNC_ALWAYS, NO_AOF) or (self.mode == WAITAOF and self._waitaof()):
            self._release(counts)
            return
        with self._lock:
            self._held.append((time.monotonic() + self.grace_s, counts))

    def release_due(self, everything: bool = False) -> int:
        """Release the held batches whose grace has passed (all of them when `everything`); how many."""
        now, due = time.monotonic(), []
        with self._lock:
            while self._held and (everything or self._held[0][0] <= now):
                due.append(self._held.popleft()[1])
        for counts in due:
            self._release(counts)
        return len(due)

    def wait_and_release(self, timeout: float) -> bool:
        """On stop: wait (at most `timeout`) for the held batches' grace, then release them. True if none left."""
        with self._lock:
            last = self._held[-1][0] if self._held else 0.0
        wait = min(timeout, max(0.0, last - time.monotonic()))
        if wait:
            time.sleep(wait)
        self.release_due()
        return self.held() == 0

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def _waitaof(self) -> bool:
        try:
            local, _replicas = self.redis.execute_command("WAITAOF", 1, 0, int(self.grace_s * 1000))
        except RedisError as exc:
            log.warning("WAITAOF failed; keeping WAL segments for the grace period",
                        extra={"event": "waitaof_failed", "error": exc.__class__.__name__})
            return False
        return int(local) >= 1

    def _release(self, counts: dict[Any, int]) -> None:
        for segment, count in counts.items():
            self.release(segment, count)

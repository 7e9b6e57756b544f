"""The per-process read cache: top-N snapshots for lists, a short micro-cache for member views.

A list request is served from this process's copy of the board period's snapshot. The copy is kept until
the snapshot's next refresh (as_of + REFRESH_SECONDS) plus SNAPSHOT_GRACE_SECONDS, never longer than
REFRESH_SECONDS, so a worker asks Redis for a list at most once per refresh. When Redis has no usable
snapshot (none yet, older than SNAPSHOT_MAX_AGE_REFRESHES refreshes, or a `day` snapshot of another day) the
worker builds one live, stores it for the other workers, and marks it `live`. When Redis is unreachable the
last copy is served with its age (except a `day` copy of another day). In a server process, `LiveMarks` hears
the live ticker's events and drops a copy as soon as a newer snapshot of its board period is published.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from redis.exceptions import RedisError

from . import defaults, metrics
from .clock import Clock, to_ms
from .ranking import snapshots
from .ranking.boards import Board
from .ranking.errors import StoreUnavailable
from .ranking.periods import Period
from .ranking.snapshots import Snapshot

T = TypeVar("T")
log = logging.getLogger(__name__)


class LiveMarks:
    """The newest `as_of` the live ticker published per board period, heard on `keys.LIVE_CHANNEL` by a thread
    of this process: a cached list older than that is fetched again, so lists follow the live tier within a
    tick without asking Redis per request. While the subscription is down, copies are rechecked every
    SNAPSHOT_RECHECK_SECONDS instead."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.latest: dict[tuple[str, str], int] = {}
        self.connected = False
        self._thread = threading.Thread(target=self._run, name="live-marks", daemon=True)

    def start(self) -> LiveMarks:
        self._thread.start()
        return self

    def stale(self, snapshot: Snapshot, fetched_at: datetime, now: datetime) -> bool:
        if not self.connected:
            return now - fetched_at >= timedelta(seconds=defaults.SNAPSHOT_RECHECK_SECONDS)
        return self.latest.get((snapshot.board, snapshot.period.value), 0) > to_ms(snapshot.as_of)

    def note(self, head: dict[str, Any]) -> None:
        """A published event's head: lists of its board period older than its `as_of` are stale from now on.
        The live hub of this process notes each event before its streams get it (live/hub.py), so a client that
        reads the list right after an event gets that snapshot or a newer one, whichever of the two
        subscriptions of this process hears the event first."""
        key = (head["board"], head["period"])
        self.latest[key] = max(self.latest.get(key, 0), int(head["as_of_ms"]))

    def _run(self) -> None:
        from . import keys
        from .live.events import decode_message

        backoff = 0.1
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(keys.LIVE_CHANNEL)
                self.connected, backoff = True, 0.1
                while True:
                    message = pubsub.get_message(timeout=1.0)  # below the client's socket timeout
                    if message is not None and message.get("type") == "message":
                        head, _data = decode_message(message["data"])
                        self.note(head)
            except Exception as exc:  # Redis gone or a bad message: recheck by time until subscribed again
                if self.connected:
                    log.warning("live marks unsubscribed", extra={"event": "live_marks_lost", "error": repr(exc)})
                self.connected = False
            time.sleep(backoff)
            backoff = min(5.0, backoff * 2)


LIVE_MARKS: list[LiveMarks] = []  # this process's listener, once started (servers only; never at import)


def start_live_marks(redis: Any) -> LiveMarks:
    if not LIVE_MARKS:
        LIVE_MARKS.append(LiveMarks(redis).start())
    return LIVE_MARKS[0]


def live_marks_post_fork(_server: Any, _worker: Any) -> None:
    """gunicorn post_fork hook: every worker hears the live ticker (unless LIVE_TICK_MS is 0)."""
    from .config import load_settings
    from .redis_client import connect

    settings = load_settings()
    if settings.LIVE_TICK_MS:
        start_live_marks(connect(settings))


@dataclass
class _Cached:
    snapshot: Snapshot
    expires_at: datetime
    fetched_at: datetime


class NotCached(LookupError):
    """A member view this process does not hold fresh (ReadCache.member_view(..., cached_only=True))."""


class ReadCache:
    def __init__(self, redis: Any, clock: Clock, refresh_seconds: int, top_n: int, member_cache_seconds: float):
        self.redis = redis
        self.clock = clock
        self.refresh = timedelta(seconds=refresh_seconds)
        self.top_n = top_n
        self.max_age = self.refresh * defaults.SNAPSHOT_MAX_AGE_REFRESHES
        self.member_ttl = timedelta(seconds=member_cache_seconds)
        self._lock = threading.Lock()
        self._snapshots: dict[tuple[str, Period], _Cached] = {}
        self._members: dict[Hashable, tuple[datetime, Any, datetime]] = {}
        self._pages: dict[Hashable, tuple[Snapshot, datetime, bytes]] = {}

    def next_refresh_at(self, snapshot: Snapshot) -> datetime:
        return snapshot.as_of + self.refresh

    def snapshot(self, board: Board, period: Period, at_least: datetime | None = None) -> Snapshot:
        """The snapshot to serve now. `at_least`: a cursor saw a snapshot this new, so an older local copy
        is refetched rather than served."""
        now = self.clock()
        cached = self._snapshots.get((board.id, period))
        if cached and self._serves(cached, period, now, at_least):
            return _served(cached.snapshot, now)
        with self._lock:  # one fetch per process at a time: a refresh touches Redis once, not once per thread
            cached = self._snapshots.get((board.id, period))
            if cached and self._serves(cached, period, now, at_least):
                return _served(cached.snapshot, now)
            try:
                snapshot = self._fetch(board, period, now)
            except RedisError:
                metrics.REDIS_ERRORS.labels("snapshot").inc()
                if cached and cached.snapshot.serves(period, now, timedelta.max):
                    return _served(cached.snapshot, now)  # Redis is down: the last list, with its age in as_of
                raise StoreUnavailable(defaults.READ_RETRY_AFTER_SECONDS) from None
            self._snapshots[(board.id, period)] = _Cached(snapshot, self._expiry(snapshot, now), now)
            return _served(snapshot, now)

    def local_snapshot(self, board: Board, period: Period) -> Snapshot | None:
        """This process's copy when `snapshot()` would serve it without asking Redis (its age recorded as
        `snapshot()` does); else None."""
        cached = self._snapshots.get((board.id, period))
        now = self.clock()
        if cached is not None and self._fresh(cached, period, now):
            return _served(cached.snapshot, now)
        return None

    def _serves(self, cached: _Cached, period: Period, now: datetime, at_least: datetime | None) -> bool:
        if at_least is not None and cached.snapshot.as_of < at_least:
            return False
        return self._fresh(cached, period, now)

    def _fresh(self, cached: _Cached, period: Period, now: datetime) -> bool:
        if LIVE_MARKS and LIVE_MARKS[0].stale(cached.snapshot, cached.fetched_at, now):
            return False
        return now < cached.expires_at and cached.snapshot.serves(period, now, self.max_age)

    def _expiry(self, snapshot: Snapshot, now: datetime) -> datetime:
        grace = timedelta(seconds=defaults.SNAPSHOT_GRACE_SECONDS)
        recheck = timedelta(seconds=defaults.SNAPSHOT_RECHECK_SECONDS)
        return max(min(self.next_refresh_at(snapshot) + grace, now + self.refresh), now + recheck)

    def _fetch(self, board: Board, period: Period, now: datetime) -> Snapshot:
        stored = snapshots.load(self.redis, board.id, period)
        if stored is not None and stored.serves(period, now, self.max_age):
            return stored
        built = snapshots.build(self.redis, board, period, now, self.top_n, live=True)
        snapshots.save(self.redis, built)
        return built

    def member_view(self, key: Hashable, compute: Callable[[], T], scope: tuple[str, str] | None = None,
                    cached_only: bool = False) -> T:
        """`compute()` at most once per MEMBER_CACHE_SECONDS per key in this process, and again as soon as the live
        ticker published a newer snapshot of its board period `scope` (a member view is never older than the
        list beside it: read-your-writes within a tick). `cached_only`: raise NotCached instead of computing
        (the answers made on the ASGI loop, which must not wait on Redis: api/native_reads.py)."""
        now = self.clock()
        hit = self._members.get(key)
        if hit is not None and now < hit[0] and not (
                scope and LIVE_MARKS and LIVE_MARKS[0].latest.get(scope, 0) > to_ms(hit[2])):
            return hit[1]  # type: ignore[no-any-return]
        if cached_only:
            raise NotCached(key)
        value = compute()
        self.keep_member_view(key, value, now)
        return value

    def keep_member_view(self, key: Hashable, value: Any, computed_at: datetime) -> None:
        """Hold `value`, computed from `computed_at` on, as member_view holds what it computes."""
        if len(self._members) >= defaults.MEMBER_CACHE_MAX_ENTRIES:
            self._members.clear()  # bounded memory; a cold micro-cache only costs Redis round trips
        self._members[key] = (computed_at + self.member_ttl, value, computed_at)

    def rendered_page(self, key: Hashable, snapshot: Snapshot, resets_at: datetime) -> bytes | None:
        """A page rendered from exactly this snapshot object for the same day, else None."""
        hit = self._pages.get(key)
        if hit is None or hit[0] is not snapshot or hit[1] != resets_at:
            return None
        return hit[2]

    def keep_rendered_page(self, key: Hashable, snapshot: Snapshot, resets_at: datetime, body: bytes) -> None:
        if len(self._pages) >= defaults.RENDERED_PAGES_MAX_ENTRIES:
            self._pages.clear()  # bounded memory; a miss only costs one rendering
        self._pages[key] = (snapshot, resets_at, body)

    def clear(self) -> None:
        """Forget every copy (tests; an operator's reset)."""
        with self._lock:
            self._snapshots.clear()
            self._members.clear()
            self._pages.clear()


def _served(snapshot: Snapshot, now: datetime) -> Snapshot:
    """Record the age of the snapshot about to be served (leaderboard_snapshot_age_seconds)."""
    age = max(0.0, (now - snapshot.as_of).total_seconds())
    gauge = _age_gauges.get((snapshot.board, snapshot.period))
    if gauge is None:  # boards x periods: bounded like the gauge's own label set
        gauge = _age_gauges[(snapshot.board, snapshot.period)] = metrics.SNAPSHOT_AGE.labels(
            snapshot.board, snapshot.period.value)
    gauge.set(age)
    return snapshot


_age_gauges: dict[tuple[str, Period], Any] = {}  # (board, period) -> its leaderboard_snapshot_age_seconds child


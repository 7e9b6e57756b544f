"""The live ticker: every LIVE_TICK_MS, the board periods whose change marks moved get a fresh snapshot and an
`update` event, once per tick across every process and host.

A tick (run through jobs/guard.py like the scheduler's jobs: a lock, a per-tick key, so two tickers never run
one tick twice):
1. reads every board's change marks (`keys.live_changes`, counted by the apply script in the same atomic step
   as the increments) and what was published so far (`keys.live_done`);
2. for each board period whose marks moved, builds the top SNAPSHOT_TOP_N (the same builder as the scheduler's
   refresh) and stores it in the snapshot store, so lists, member cards and the stream share its `as_of`;
3. diffs its top LIVE_TOP_N against the last published one (`keys.live_top`), appends the `update` event to
   the board period's capped event stream (`keys.live_events`, the SSE ids and the Last-Event-ID history) and
   publishes it on `keys.LIVE_CHANNEL` for the stream servers;
4. records the marks it covered in `keys.live_done`. A write applied after step 1 moves the marks again, so
   the next tick covers it: nothing is missed; a tick that fails leaves the marks unmoved and the next retries.

The ticker runs as a thread of `leaderboard scheduler` (any number of them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.exceptions import RedisError

from .. import defaults, keys, metrics
from ..clock import Clock, system_clock, to_ms
from ..config import Settings
from ..jobs import guard
from ..ranking import snapshots
from ..ranking.boards import Board, BoardRegistry
from ..ranking.periods import ROLLING_HOURS, Period
from ..ranking.snapshots import Snapshot
from .events import LiveBoard, encode_message, update_event

log = logging.getLogger(__name__)

JOB = "live_tick"
KIND_PERIODS: dict[str, tuple[Period, ...]] = {"all": (Period.ALL,), "day": (Period.DAY,), "hour": tuple(ROLLING_HOURS)}
TICK_KEY_SECONDS = 60  # a tick key outlives any tick by far; ticks are 0.5 s apart, so keep few keys around


def changed_periods(changes: dict[bytes, bytes], done: dict[bytes, bytes]) -> tuple[dict[str, int], list[Period]]:
    """(the marks to record as done, the periods they cover) of one board."""
    moved = {k.decode(): int(v) for k, v in changes.items() if int(v) > int(done.get(k, 0))}
    periods = {p for kind in moved for p in KIND_PERIODS.get(kind, ())}
    return moved, [p for p in Period if p in periods]


def moved_marks(redis: Any, board_ids: list[str]) -> list[tuple[dict[str, int], list[Period]]]:
    """Per live board id (a board's, or a competition's `comp:ID`), in one round trip: the change marks that
    moved past what was published and the periods they cover."""
    pipe = redis.pipeline(transaction=False)
    for board_id in board_ids:
        pipe.hgetall(keys.live_changes(board_id))
        pipe.hgetall(keys.live_done(board_id))
    replies = pipe.execute()
    return [changed_periods(replies[2 * n], replies[2 * n + 1]) for n in range(len(board_ids))]


def tick(redis: Any, boards: Iterable[Board], now: datetime, settings: Settings) -> dict[str, int]:
    """One tick's work (idempotent: a second run for the same marks publishes nothing new)."""
    boards = list(boards)
    marks = moved_marks(redis, [b.id for b in boards])
    work = [(board, moved, periods) for board, (moved, periods) in zip(boards, marks, strict=True) if moved]
    published = 0
    # every board's day and all first (read straight from their sorted sets), the rolling windows (materialized
    # first, several times dearer) after: the periods most streams follow are not held up by the windows' work
    for rolling in (False, True):
        for board, _moved, periods in work:
            for period in periods:  # as_of = when its reads start, so it orders with other builders' snapshots
                if (period in ROLLING_HOURS) is rolling:
                    published += publish(redis, board, period, max(now, datetime.now(UTC)), settings)
    for board, moved, _periods in work:
        redis.hset(keys.live_done(board.id), mapping=moved)
    return {"published": published}


def publish(redis: Any, board: Board, period: Period, now: datetime, settings: Settings) -> int:
    """Snapshot the board period and publish what changed in its top LIVE_TOP_N; 1 if an event went out."""
    after = snapshots.build(redis, board, period, now, settings.SNAPSHOT_TOP_N)
    snapshots.save(redis, after)
    return announce(redis, board, after, settings)


def announce(redis: Any, board: LiveBoard, after: Snapshot, settings: Settings) -> int:
    """Publish what changed in the top LIVE_TOP_N of `board` x `after.period` since the last announced top
    (a board's, or a competition board's: competitions/live.py); 1 if an event went out."""
    period = after.period
    raw = redis.get(keys.live_top(board.id, period.value))
    before = Snapshot.from_json(raw) if raw else None
    event = update_event(board, before, after, settings.LIVE_TOP_N)
    if event is None:
        return 0
    data = orjson.dumps(event)
    stream = keys.live_events(board.id, period.value)
    last = redis.xrevrange(stream, count=1)
    prev_id = last[0][0].decode() if last else "0-0"
    event_id = redis.xadd(stream, {"data": data, "prev": prev_id}, maxlen=settings.LIVE_HISTORY, approximate=True)
    event_id = event_id.decode() if isinstance(event_id, bytes) else str(event_id)
    top = Snapshot(after.board, after.period, after.as_of, after.day, after.total,
                   after.entries[: settings.LIVE_TOP_N], after.live)
    ttl_ms = int(snapshots.SNAPSHOT_TTL.total_seconds() * 1000)
    pipe = redis.pipeline(transaction=False)
    pipe.set(keys.live_top(board.id, period.value), top.to_json(), px=ttl_ms)
    pipe.pexpire(stream, ttl_ms)
    pipe.publish(keys.LIVE_CHANNEL, encode_message(board.id, period.value, event_id, prev_id, to_ms(after.as_of), data))
    pipe.execute()
    metrics.LIVE_PUBLISHED.inc()
    return 1


class Ticker:
    """The ticker thread: wakes at each multiple of LIVE_TICK_MS since the epoch and runs that tick once."""

    def __init__(self, redis: Any, settings: Settings, clock: Clock = system_clock,
                 sources: Sequence[Callable[[datetime], dict[str, int]]] = ()) -> None:
        self.redis = redis
        self.sources = tuple(sources)  # more boards to publish in the same tick (competitions/live.py)
        self.settings = settings
        self.clock = clock
        self.tick_ms = settings.LIVE_TICK_MS
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry = BoardRegistry(redis)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="live-ticker", daemon=True)
        self._thread.start()
        log.info("live ticker started", extra={"event": "live_ticker_started", "tick_ms": self.tick_ms})

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            now_ms = time.time() * 1000
            scheduled_ms = (now_ms // self.tick_ms + 1) * self.tick_ms
            if self._stop.wait((scheduled_ms - now_ms) / 1000):
                return
            try:
                self.run_tick(int(scheduled_ms))
                if failing:
                    log.info("live ticker recovered", extra={"event": "live_ticker_recovered"})
                failing = False
            except RedisError as exc:
                metrics.REDIS_ERRORS.labels("live_tick").inc()
                if not failing:
                    log.warning("live tick failed", extra={"event": "live_tick_failed", "error": repr(exc)})
                failing = True
            except Exception:
                log.exception("live tick failed", extra={"event": "live_tick_failed"})
                failing = True

    def run_tick(self, scheduled_ms: int) -> str:
        now = self.clock()
        boards = self._registry.all().values()
        outcome = guard.run_once(
            self.redis, JOB, str(scheduled_ms // self.tick_ms), now,
            lambda: {k: v for part in (tick(self.redis, boards, now, self.settings),
                                       *(source(now) for source in self.sources)) for k, v in part.items()},
            lock_ms=defaults.LIVE_TICK_LOCK_MS, tick_key_seconds=TICK_KEY_SECONDS, log_level=logging.DEBUG,
        )
        if outcome == "ran":
            metrics.LIVE_TICK_LAG.observe(max(0.0, time.time() - scheduled_ms / 1000))
        return outcome

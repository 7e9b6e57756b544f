"""The write path of one process: WAL + buffer + flusher, and the API other code uses to write.

Using it (any server or tool; a Flask view reaches the app's runtime through `api.write_path`):

    from leaderboard.ingest import runtime
    from leaderboard.ingest.writes import score_write

    write = score_write(board, user_id, score, write_id=some_unique_id, ts=None)  # board: ranking.boards.Board
    runtime.runtime_for(settings).submit([write])  # returns once the write is in the WAL; raises BufferFull
                                                   # (retry after exc.retry_after) or IngestDisabled

`submit` never talks to Redis: it reserves room in the buffer, appends to the WAL (waiting for the fsync
under WAL_FSYNC=always), queues the writes and returns. The flusher thread applies them (see flusher.py);
a write's id makes it count once (see ranking/apply.py), so callers may retry freely. Trades are built with
`writes.trade_write(validation.parse_trade(...))`.

Lifecycle: started per process in its run loop, never at import. Under either server (web_server.py) the
`post_fork` hook starts it (so a new worker replays the WAL of dead ones at once) and `worker_exit` stops it
(final flush); `runtime_for(settings)` starts one lazily for an app with settings of its own (tests, `flask
run`). `stop()` flushes what is buffered (retrying until its timeout) and closes the WAL; whatever could not be
flushed stays in the WAL for the next process to replay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from .. import defaults, metrics
from ..competitions.feed import competition_feed
from ..config import Settings, load_settings
from ..redis_client import connect
from .buffer import Pending, WriteBuffer, count_by_source, pending_items
from .durability import DurabilityGate
from .errors import BufferFull, IngestDisabled
from .flusher import Applier, Flusher
from .wal import WriteAheadLog
from .writes import Write

__all__ = ["BufferFull", "IngestDisabled", "IngestRuntime", "process_runtime", "runtime_for", "start", "stop"]

log = logging.getLogger(__name__)

class IngestRuntime:
    def __init__(self, settings: Settings, redis: Any | None = None) -> None:
        self.settings = settings
        self._owns_redis = redis is None
        self.redis = redis if redis is not None else connect(settings)
        crash_point = str(settings.extra.get("INGEST_CRASH_POINT", ""))
        self.wal = WriteAheadLog(
            settings.wal_dir, settings.WAL_FSYNC, settings.WAL_FSYNC_INTERVAL_MS, settings.WAL_SEGMENT_MAX_BYTES
        )
        self.buffer = WriteBuffer(settings.BUFFER_MAX_PENDING, settings.RETRY_AFTER_SECONDS)
        self.applier = Applier(
            self.redis,
            chunk_writes=settings.APPLY_CHUNK_WRITES,
            marker_ttl=settings.DEDUPE_WINDOW_SECONDS,
            history_days=settings.HISTORY_DAYS,
            crash_point=crash_point,
            feed=competition_feed(self.redis, settings),
        )
        self.flusher = Flusher(
            self.buffer,
            self.applier,
            max_writes=settings.BUFFER_MAX_TRADES,
            max_age_ms=settings.BUFFER_MAX_AGE_MS,
            retry_max_s=settings.FLUSH_RETRY_MAX_SECONDS,
            on_applied=self._applied,
            periodic=self._periodic,
            crash_point=crash_point,
        )
        self.durability: DurabilityGate | None = None  # made at start (it asks Redis for its AOF settings)
        self._last_claim = float("-inf")
        self._accepted = metrics.TRADES_ACCEPTED.labels("http")
        self.started = False
        self.stopped = False

    def start(self) -> IngestRuntime:
        self.durability = DurabilityGate(self.redis, self.wal.release, self.settings.REDIS_DURABILITY_GRACE_MS / 1000)
        self.wal.open()
        self.claim_orphans()
        self.publish_gauges()
        self.flusher.start()
        self.started = True
        return self

    def submit(self, writes: Sequence[Write]) -> None:
        """Durably accept `writes` (see the module docstring)."""
        error = self.submit_many([writes])[0]
        if error is not None:
            raise error

    def submit_many(self, requests: Sequence[Sequence[Write]]) -> list[BufferFull | IngestDisabled | None]:
        """`submit` for several requests with one WAL append and one wait for durability (group commit: one
        write and, under WAL_FSYNC=always, one fsync for them all): each request's refusal (BufferFull,
        IngestDisabled), or None once its writes are durably accepted. Any other error (the WAL's disk) is
        raised, and then no request is accepted."""
        refusals: list[BufferFull | IngestDisabled | None] = []
        accepted: list[Write] = []
        for writes in requests:
            try:
                if writes and (self.stopped or not self.started):
                    raise IngestDisabled("the write path of this process is stopped",
                                         self.settings.RETRY_AFTER_SECONDS)
                if writes:
                    self.buffer.reserve(len(writes))
            except (BufferFull, IngestDisabled) as exc:
                refusals.append(exc)
                continue
            refusals.append(None)
            accepted.extend(writes)
        if not accepted:
            return refusals
        try:
            segment, position = self.wal.append(accepted)
        except BaseException:
            self.buffer.cancel(len(accepted))
            raise
        self.buffer.add(pending_items(accepted, segment))
        self.wal.wait_durable(position)
        self._accepted.inc(len(accepted))
        return refusals

    def ensure_room(self, count: int) -> None:
        """Raise BufferFull now if `count` more writes would not fit (for callers that must do something
        irreversible, like consuming an action, before they submit)."""
        self.buffer.reserve(count)
        self.buffer.cancel(count)

    def claim_orphans(self) -> int:
        """Queue the writes of WAL segments left by dead processes; returns how many."""
        self._last_claim = time.monotonic()
        replayed = 0
        for segment, writes in self.wal.claim_orphans():
            self.buffer.add(pending_items(writes, segment), reserved=False)
            replayed += len(writes)
        if replayed:
            self.flusher.request_flush()
        return replayed

    def _applied(self, batch: Sequence[Pending]) -> None:
        """The flusher applied `batch`: its WAL segments go once Redis's copy is durable (ingest/durability.py)."""
        assert self.durability is not None
        self.durability.applied(count_by_source(batch))

    def _periodic(self) -> None:
        """Run by the flusher thread between flushes (at least once a second)."""
        if self.durability is not None:
            self.durability.ensure_probed()  # here, never on a request's path (Redis may be stalled)
            self.durability.release_due()
        if time.monotonic() - self._last_claim >= defaults.WAL_CLAIM_INTERVAL_SECONDS:
            self.claim_orphans()
        self.publish_gauges()

    def publish_gauges(self) -> None:
        """Buffer depth and WAL usage for /metrics: set from the flusher thread, never per write."""
        segments, size = self.wal.usage()
        metrics.BUFFER_DEPTH.set(self.buffer.pending)
        metrics.WAL_SEGMENTS.set(segments)
        metrics.WAL_BYTES.set(size)

    def drain(self, timeout: float = 10.0) -> bool:
        """Flush now and wait until everything buffered is in Redis (tests, tools)."""
        self.flusher.request_flush()
        return self.buffer.wait_empty(timeout)

    def stop(self, timeout: float = 10.0) -> bool:
        """Final flush (retrying up to `timeout`), then close the WAL. True if nothing was left behind."""
        if self.stopped or not self.started:
            return True
        self.stopped = True
        flushed = self.flusher.stop(timeout)
        if self.durability is not None:  # what was applied last is durable after the grace: release it too
            self.durability.wait_and_release(timeout)
        self.wal.close()
        metrics.BUFFER_DEPTH.set(0)  # what is left is in the WAL for the next process, not in this buffer
        metrics.WAL_SEGMENTS.set(0)
        metrics.WAL_BYTES.set(0)
        if self._owns_redis:
            self.redis.close()
        log.info("ingest stopped", extra={"event": "ingest_stopped", "flushed_all": flushed,
                                          "left_in_wal": self.buffer.pending})
        return flushed

    def status(self) -> dict[str, Any]:
        pending = self.buffer.pending
        full = pending >= self.buffer.max_pending
        state = "full" if full else self.flusher.state
        status: dict[str, Any] = {
            "ok": not full,
            "state": state,
            "pending": pending,
            "limit": self.buffer.max_pending,
            "oldest_pending_ms": round(self.buffer.oldest_age() * 1000),
        }
        if self.flusher.last_error:
            status["last_error"] = self.flusher.last_error
        if self.durability is not None:
            status["durability"] = {key: self.durability.state[key] for key in
                                    ("appendonly", "appendfsync", "mode", "guarantee")}
        if full:
            status["reason"] = f"write buffer full ({pending} writes waiting for Redis)"
        return status


# --- the process's runtime and the app's ---------------------------------------------------------------
_guard = threading.Lock()
_process_runtime: IngestRuntime | None = None
_started: list[IngestRuntime] = []


def start(settings: Settings | None = None) -> IngestRuntime:
    """Start (once) the runtime of this process, e.g. from gunicorn's post_fork or a CLI run loop."""
    global _process_runtime
    with _guard:
        if _process_runtime is None or _process_runtime.stopped:
            _process_runtime = _start_new(settings or load_settings())
        return _process_runtime


def _start_new(settings: Settings) -> IngestRuntime:
    runtime = IngestRuntime(settings).start()
    _started.append(runtime)
    return runtime


def stop(timeout: float = 10.0) -> bool:
    """Stop the process's runtime (final flush); True if nothing was left in the WAL."""
    with _guard:
        runtime = _process_runtime
    return runtime.stop(timeout) if runtime is not None else True


def stop_all(timeout: float = 10.0) -> None:
    """Stop every runtime this process started (tests, at exit)."""
    with _guard:
        runtimes = list(_started)
        _started.clear()
    for runtime in runtimes:
        runtime.stop(timeout)


def process_runtime() -> IngestRuntime | None:
    """The runtime `start()` made for this process, if any."""
    return _process_runtime


def runtime_for(settings: Settings) -> IngestRuntime:
    """A running runtime for `settings`: the process's when it writes to the same WAL directory, else one
    started now (an app with its own settings: tests, `flask run`)."""
    if not settings.INGEST_ENABLED:
        raise IngestDisabled("INGEST_ENABLED is off in this process", settings.RETRY_AFTER_SECONDS)
    with _guard:
        process = _process_runtime
        if process is not None and not process.stopped and process.settings.wal_dir == settings.wal_dir:
            return process
        return _start_new(settings)


"""From the buffer into Redis: the apply step and the flusher thread.

`Applier.apply(writes)` groups writes per board, cuts each board's writes into chunks of APPLY_CHUNK_WRITES
and runs the board's apply script (ranking/apply.py) once per chunk: a script is atomic on its own (its
run is the "EXEC" below). For writes that came from the trade stream, the last chunk's script and the XACK
of their entries go in one MULTI/EXEC; on Redis Cluster, where the stream is another slot (and redis-py's
cluster pipelines refuse EVALSHA), the XACK follows the last script instead.

Exactly once, at every crash point (markers are set by the same script that adds, so there is no window
between "marked" and "added"):
- crash before EXEC, or an EXEC that never ran: nothing applied; the writes are still in the WAL (or
  pending in the stream) and are applied by the replay;
- crash after EXEC of some boards' chunks, before the others: the replay re-sends everything; the applied
  chunks find their markers and count nothing, the rest count once;
- crash after every EXEC, before the WAL segment is trimmed (or the stream entry acked): the replay finds
  every marker and counts nothing;
- EXEC whose reply was lost (connection dropped, timeout): the flusher retries the same writes; the same.
Markers live DEDUPE_WINDOW_SECONDS, so a write replayed or retried within the window counts once.

`Flusher` is the per-process thread: it flushes when BUFFER_MAX_TRADES writes are queued or the oldest
is BUFFER_MAX_AGE_MS old, never holds the buffer lock while talking to Redis, puts a failed batch back
and retries with exponential back-off while Redis is unreachable (`state` is then "degraded"), and on
stop keeps flushing until the buffer is empty or its deadline passes.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from .. import metrics
from ..ranking.apply import APPLY_BOARD_BATCH_LUA, BoardWrite, build_board_batch, chunked
from .buffer import Pending, WriteBuffer, count_by_source
from .writes import TRADE_PREFIX, Write

log = logging.getLogger(__name__)

# Test-only crash points (settings.extra["INGEST_CRASH_POINT"], never read from the environment):
# the process calls os._exit() there, to prove the replay is exactly-once.
CRASH_BETWEEN_BOARDS = "between_boards"  # after the first board transaction of a flush
CRASH_AFTER_EXEC = "after_exec"  # after every transaction of a flush, before the WAL is trimmed
CRASH_EXIT_CODE = 86


def crash_here(point: str, configured: str) -> None:
    if configured and point == configured:
        log.warning("test crash point reached", extra={"event": "test_crash", "point": point})
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)


@dataclass(frozen=True)
class StreamAck:
    """Entries of a stream consumer group to XACK once their writes are applied."""

    stream: str
    group: str
    entry_ids: Sequence[str]


class Applier:
    """Applies writes to Redis exactly once per write id and board (see the module docstring)."""

    def __init__(
        self, redis: Any, *, chunk_writes: int, marker_ttl: int, history_days: int,
        ack_in_transaction: bool = True, crash_point: str = "", source: str = "http",
        feed: Callable[[Sequence[Write]], int] | None = None, key_map: Callable[[str], str] | None = None,
    ) -> None:
        self.redis = redis
        self.chunk_writes = chunk_writes
        self.marker_ttl = marker_ttl
        self.history_days = history_days
        self.ack_in_transaction = ack_in_transaction  # False on Redis Cluster: the stream is another slot
        self.crash_point = crash_point
        self.feed = feed  # competitions: applied between the two phases, before any stream entry is acked
        self.key_map = key_map  # keys.rebuilding: apply into a board's fresh keys (leaderboard rebuild)
        self.script = redis.register_script(APPLY_BOARD_BATCH_LUA)
        self._duplicates = metrics.TRADES_DUPLICATE.labels(source)  # "http" (API writes) or "stream"
        # API trades were claimed by their request on their identity board (ingest/claims.py): the script
        # then reads and applies each marker in one call (APPLY_BOARD_BATCH_LUA, ARGV[5])
        self.expect_claims = source == "http"
        self._conflicts = metrics.TRADES_CONFLICT.labels("flush")

    def apply(self, writes: Sequence[Write], ack: StreamAck | None = None) -> int:
        """Apply every write (raises RedisError if any transaction failed: retrying is safe). Returns how
        many (write, board) pairs counted, i.e. were not applied before. Records the flush metrics."""
        started = time.perf_counter()
        try:
            counted, duplicates = self._apply(writes, ack)
        except RedisError as exc:
            metrics.FLUSH_FAILURES.labels(exc.__class__.__name__).inc()  # its caller counts the Redis error
            raise
        except Exception:
            metrics.FLUSH_FAILURES.labels("internal_error").inc()
            raise
        if writes:
            metrics.FLUSH_LATENCY.observe(time.perf_counter() - started)
            metrics.FLUSH_BATCH_SIZE.observe(len(writes))
            if duplicates:
                self._duplicates.inc(duplicates)
        return counted

    def _apply(self, writes: Sequence[Write], ack: StreamAck | None) -> tuple[int, int]:
        """(write, board) pairs counted, and writes found already applied (on their identity board).

        Two phases: first every write's identity board (its last increment: `all-volume` for a trade), whose
        marker decides the write; then its other boards, without the writes that conflicted in the first
        phase, so a conflicting write counts nowhere. A replay repeats the same decisions (the identity
        marker holds the first content), so a crash between the phases changes nothing."""
        identity: dict[tuple[str, str, bool], list[BoardWrite]] = defaultdict(list)
        others: dict[tuple[str, str, bool], list[BoardWrite]] = defaultdict(list)
        for write in writes:
            last = len(write.increments) - 1
            claimed = self.expect_claims and write.write_id.startswith(TRADE_PREFIX)
            for position, inc in enumerate(write.increments):
                board_write = BoardWrite(write.write_id, write.member, inc.amount, write.ts_ms, write.fp)
                if position == last:
                    identity[(inc.board, inc.mode, claimed)].append(board_write)
                else:
                    others[(inc.board, inc.mode, False)].append(board_write)
        conflicted: set[str] = set()
        conflicts: list[str] = []
        first = self._transactions(identity)
        number = counted = duplicates = 0
        for board, mode, claimed, chunk in first:
            number += 1
            is_last = number == len(first) and not others
            applied, repeated, found = self._run(board, mode, chunk, ack if is_last else None, claimed)
            counted += applied
            duplicates += len(chunk) - applied - len(repeated) - len(found)
            conflicts.extend(repeated + found)
            conflicted.update(found)  # a repeat's first occurrence counts: only Redis's finds leave phase two
            if number == 1 and not is_last:
                crash_here(CRASH_BETWEEN_BOARDS, self.crash_point)
        if self.feed is not None:  # competitions, before the last transaction (it may carry the stream's XACK)
            self.feed([w for w in writes if w.write_id not in conflicted])  # exactly once on their own markers
        rest = self._transactions({board: [w for w in board_writes if w.write_id not in conflicted]
                                   for board, board_writes in others.items()})
        for position, (board, mode, _claimed, chunk) in enumerate(rest, start=1):
            number += 1
            applied, _repeated, found = self._run(board, mode, chunk, ack if position == len(rest) else None)
            counted += applied
            conflicts.extend(found)  # rare: the identity marker expired but this board's did not
            if number == 1 and position < len(rest):
                crash_here(CRASH_BETWEEN_BOARDS, self.crash_point)
        if ack and ack.entry_ids and (not (first or rest) or not self.ack_in_transaction or (others and not rest)):
            self.redis.xack(ack.stream, ack.group, *ack.entry_ids)
        if conflicts:
            self._conflicts.inc(len(conflicts))
            log.warning("writes reusing an id with other content counted nothing",
                        extra={"event": "write_conflict", "count": len(conflicts), "write_ids": conflicts[:20]})
        return counted, duplicates

    def _transactions(self, per_board: dict[tuple[str, str, bool], list[BoardWrite]]
                      ) -> list[tuple[str, str, bool, Any]]:
        return [(board, mode, claimed, chunk) for (board, mode, claimed), board_writes in sorted(per_board.items())
                if board_writes for chunk in chunked(board_writes, self.chunk_writes)]

    def _run(self, board: str, mode: str, chunk: Sequence[BoardWrite],
             ack: StreamAck | None, claimed: bool = False) -> tuple[int, list[str], list[str]]:
        """One script call (with the stream's XACK in its transaction when `ack`): how many counted, the ids
        repeated inside the chunk with other content, and the ids whose marker held other content."""
        batch = build_board_batch(board, mode, chunk, marker_ttl=self.marker_ttl, history_days=self.history_days,
                                  claimed=claimed)
        batch_keys = batch.keys if self.key_map is None else [self.key_map(key) for key in batch.keys]
        if ack and self.ack_in_transaction:
            with self.redis.pipeline(transaction=True) as pipe:
                self.script(keys=batch_keys, args=batch.args, client=pipe)
                pipe.xack(ack.stream, ack.group, *ack.entry_ids)
                reply = pipe.execute()[0]
        else:
            reply = self.script(keys=batch_keys, args=batch.args)
        return int(reply[0]), batch.conflicts, [batch.write_ids[int(position) - 1] for position in reply[1:]]


class Flusher:
    """The flusher thread of one process (see the module docstring)."""

    def __init__(
        self, buffer: WriteBuffer, applier: Applier, *, max_writes: int, max_age_ms: int, retry_max_s: float,
        on_applied: Callable[[Sequence[Pending]], None], periodic: Callable[[], None] | None = None,
        crash_point: str = "",
    ) -> None:
        self.buffer = buffer
        self.applier = applier
        self.max_writes = max_writes
        self.max_age_s = max_age_ms / 1000
        self.retry_max_s = retry_max_s
        self.on_applied = on_applied
        self.periodic = periodic
        self.crash_point = crash_point
        self.state = "ok"  # "degraded" while flushes fail
        self.last_error = ""
        self.flushed_total = 0
        self._stopping = threading.Event()
        self._flush_now = threading.Event()
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-flusher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Flush everything (retrying until `timeout`), then end the thread. True if the buffer emptied."""
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._flush_now.set()
        self.buffer.wake()
        if self._thread is not None:
            self._thread.join(timeout + 1)
        return self.buffer.pending == 0

    def request_flush(self) -> None:
        self._flush_now.set()
        self.buffer.wake()

    def _run(self) -> None:
        backoff = 0.0
        while True:
            stopping = self._stopping.is_set()
            if stopping and (self.buffer.queued() == 0 or time.monotonic() >= self._deadline):
                return
            self._run_periodic()
            if backoff:
                self._sleep(backoff)
            elif not stopping:
                self.buffer.wait_ready(self.max_writes, self.max_age_s, timeout=1.0, force=self._flush_now)
                self._flush_now.clear()  # a request made during the flush below sets it again
            ok = self.flush_once()
            backoff = 0.0 if ok else min(self.retry_max_s, max(0.05, backoff * 2)) * random.uniform(0.8, 1.2)

    def _run_periodic(self) -> None:
        if self.periodic is None:
            return
        try:
            self.periodic()
        except Exception:
            log.exception("periodic ingest task failed", extra={"event": "ingest_periodic_failed"})

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < min(end, self._deadline):
            time.sleep(0.02)

    def flush_once(self) -> bool:
        """Apply one batch; False when Redis failed (the batch is back in the buffer)."""
        batch = self.buffer.take(self.max_writes)
        if not batch:
            return True
        try:
            self.applier.apply([item.write for item in batch])
        except RedisError as exc:
            metrics.REDIS_ERRORS.labels("flush").inc()
            self.buffer.requeue(batch)
            if self.state != "degraded":
                log.warning("flush failed; retrying with back-off", extra={"event": "flush_failed", "error": repr(exc)})
            self.state, self.last_error = "degraded", exc.__class__.__name__
            return False
        except Exception:
            self.buffer.requeue(batch)
            log.exception("flush failed unexpectedly", extra={"event": "flush_error"})
            self.state, self.last_error = "degraded", "internal_error"
            return False
        crash_here(CRASH_AFTER_EXEC, self.crash_point)
        self.on_applied(batch)
        self.buffer.done(batch)
        self.flushed_total += len(batch)
        if self.state != "ok":
            log.info("flush recovered", extra={"event": "flush_recovered"})
        self.state, self.last_error = "ok", ""
        return True


def release_to_wal(release: Callable[[Any, int], None]) -> Callable[[Sequence[Pending]], None]:
    """on_applied callback: tell the WAL how many writes of each segment are now in Redis."""

    def on_applied(batch: Sequence[Pending]) -> None:
        for segment, count in count_by_source(batch).items():
            release(segment, count)

    return on_applied

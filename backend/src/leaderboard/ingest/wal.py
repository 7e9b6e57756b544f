"""Write-ahead log: every accepted write is in a file before the API answers 2xx.

Layout (all under WAL_DIR): each process is an *owner* with a random id. It holds an exclusive `flock` on
`owner-<id>.lock` for its whole life and appends to its own segments `wal-<id>-<seq>.log`; the kernel drops
the lock when the process dies, however it dies. A segment is sealed past WAL_SEGMENT_MAX_BYTES and a new
one started.

Record: one line per write, `<crc32 of the JSON, 8 hex digits> <JSON of Write.to_record()>\\n`. A line whose
checksum does not match (a write torn by a crash) is skipped on replay: it was never acknowledged.

fsync policy (WAL_FSYNC):
- `interval` (default, like Redis `appendfsync everysec`): the 2xx is sent once the record is written to the
  file (the kernel's page cache); a background thread fsyncs every WAL_FSYNC_INTERVAL_MS. Survives any crash
  of the process (kill -9, OOM kill, a bug); a kernel crash or power loss may lose the last interval.
- `always`: the 2xx is sent after an fsync that covers the record. Concurrent requests share one fsync
  (group commit: whoever syncs first covers everything written so far; the others find their records
  already durable). Survives power loss too, if the disk honours fsync; costs one fsync per group.

Trimming: each segment counts its writes not yet applied to Redis (`pending`). The flusher calls
`release(segment, n)` after Redis confirmed the writes; a sealed segment with nothing pending is deleted.
On close after a final flush every segment is empty of pending writes and is deleted with the lock file.

Recovery: `claim_orphans()` tries the lock of every other owner; getting it means that owner is dead, so
its segments are read and their writes handed to this process's buffer (the claimer keeps holding the
dead owner's lock until those segments are applied and deleted; if the claimer dies too, another process
claims them again). Replaying a write that had already been applied is harmless: the apply script counts
each write id once (see ranking/apply.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .writes import Write

log = logging.getLogger(__name__)

ROLL_WHEN_APPLIED_BYTES = 1024 * 1024  # an active segment this big whose writes are all applied is replaced
LOCK_GLOB = "owner-*.lock"
SEGMENT_GLOB = "wal-*.log"


def encode_record(write: Write) -> bytes:
    payload = orjson.dumps(write.to_record())
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode_record(line: bytes) -> Write | None:
    """The write of one line, or None when the line is torn or corrupt."""
    checksum, _, payload = line.rstrip(b"\n").partition(b" ")
    try:
        if len(checksum) != 8 or int(checksum, 16) != zlib.crc32(payload):
            return None
        return Write.from_record(orjson.loads(payload))
    except (ValueError, KeyError, TypeError):
        return None


def read_segment(path: Path) -> tuple[list[Write], int]:
    """The writes of a segment file and the number of lines skipped as torn or corrupt."""
    writes: list[Write] = []
    skipped = 0
    with path.open("rb") as handle:
        for line in handle:
            write = decode_record(line)
            if write is None:
                skipped += 1
            else:
                writes.append(write)
    return writes, skipped


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None when a live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # the file may have been unlinked by its last claimer between our open and our lock
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return fd


@dataclass(eq=False)
class Owner:
    """One owner id and the fd of its lock (held by this process: its own, or a dead one's it claimed)."""

    owner_id: str
    lock_path: Path
    lock_fd: int
    segments: set[Segment] = field(default_factory=set)


@dataclass(eq=False)
class Segment:
    path: Path
    owner: Owner
    pending: int = 0  # writes appended (or replayed) but not yet applied to Redis
    sealed: bool = False
    size: int = 0
    fd: int | None = None  # open for appending while it is the active segment


class WriteAheadLog:
    def __init__(
        self, directory: Path, fsync_policy: str = "interval", fsync_interval_ms: int = 1000,
        segment_max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if fsync_policy not in ("always", "interval"):
            raise ValueError(f"unknown fsync policy {fsync_policy!r}")
        self.directory = Path(directory)
        self.fsync_policy = fsync_policy
        self.fsync_interval_s = fsync_interval_ms / 1000
        self.segment_max_bytes = segment_max_bytes
        self._lock = threading.Lock()  # appends, segment roll, pending counts
        self._sync_lock = threading.Lock()  # one fsync at a time (group commit)
        self._owner: Owner | None = None
        self._active: Segment | None = None
        self._claimed: dict[str, Owner] = {}
        self._seq = 0
        self._written = 0  # records appended, ever
        self._synced = 0  # records known durable
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def open(self) -> WriteAheadLog:
        self.directory.mkdir(parents=True, exist_ok=True)
        owner_id = f"p{os.getpid()}-{uuid.uuid4().hex[:10]}"
        lock_path = self.directory / f"owner-{owner_id}.lock"
        fd = _try_lock(lock_path)
        if fd is None:  # pragma: no cover - a fresh random id
            raise RuntimeError(f"cannot lock {lock_path}")
        self._owner = Owner(owner_id, lock_path, fd)
        with self._lock:
            self._roll()
        if self.fsync_policy == "interval":
            self._syncer = threading.Thread(target=self._sync_periodically, name="wal-fsync", daemon=True)
            self._syncer.start()
        log.info("wal opened", extra={"event": "wal_opened", "owner": owner_id, "fsync": self.fsync_policy})
        return self

    def close(self) -> None:
        """Stop the fsync thread, make everything durable, and delete what is fully applied. Segments with
        writes still pending stay, unlocked, for the next process to claim and replay."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
        self.sync()
        with self._lock:
            owners = [o for o in (self._owner, *self._claimed.values()) if o is not None]
            for owner in owners:
                for segment in list(owner.segments):
                    self._close_fd(segment)
                    if segment.pending == 0:
                        self._delete(segment)
                if not owner.segments:
                    with contextlib.suppress(FileNotFoundError):
                        owner.lock_path.unlink()
                os.close(owner.lock_fd)
            self._claimed.clear()
            self._active = None

    @property
    def owner_id(self) -> str:
        assert self._owner is not None, "open() the WAL first"
        return self._owner.owner_id

    # --- appends -------------------------------------------------------------------------------------
    def append(self, writes: Sequence[Write]) -> tuple[Segment, int]:
        """Append `writes` (one line each) and return (segment, position); `wait_durable(position)`
        returns once they are as durable as the fsync policy promises."""
        data = b"".join(encode_record(w) for w in writes)
        with self._lock:
            segment = self._active
            assert segment is not None and segment.fd is not None, "open() the WAL first"
            view = memoryview(data)
            while view:
                written = os.write(segment.fd, view)
                view = view[written:]
            segment.size += len(data)
            segment.pending += len(writes)
            self._written += len(writes)
            position = self._written
            if segment.size >= self.segment_max_bytes:
                self._roll()
        return segment, position

    def wait_durable(self, position: int) -> None:
        if self.fsync_policy == "always":
            self.sync(position)

    def sync(self, position: int | None = None) -> None:
        """fsync the active segment unless `position` is already durable. Callers that queue on the sync
        lock while another fsync runs usually find their records covered by it (group commit)."""
        with self._sync_lock:
            if position is not None and self._synced >= position:
                return
            with self._lock:
                target = self._written
                fd = self._active.fd if self._active is not None else None
            if target == self._synced:
                return
            if fd is not None:
                with contextlib.suppress(OSError):  # the segment was sealed (and synced) meanwhile
                    os.fsync(fd)
            self._synced = max(self._synced, target)

    def _sync_periodically(self) -> None:
        while not self._stop.wait(self.fsync_interval_s):
            try:
                self.sync()
            except OSError:
                log.exception("wal fsync failed", extra={"event": "wal_fsync_failed"})

    def _roll(self) -> None:
        """Seal the active segment (fsynced) and start a new one. Caller holds self._lock."""
        assert self._owner is not None
        old = self._active
        if old is not None:
            if old.fd is not None:
                os.fsync(old.fd)
            self._synced = self._written  # everything written so far was in `old`, now durable
            self._close_fd(old)
            old.sealed = True
            if old.pending == 0:
                self._delete(old)
        self._seq += 1
        path = self.directory / f"wal-{self._owner.owner_id}-{self._seq:08d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        segment = Segment(path, self._owner, fd=fd)
        self._owner.segments.add(segment)
        self._active = segment

    # --- trimming ------------------------------------------------------------------------------------
    def release(self, segment: Segment, applied: int) -> None:
        """`applied` writes of `segment` are in Redis; delete the segment once sealed and fully applied."""
        with self._lock:
            segment.pending -= applied
            if segment.pending < 0:  # pragma: no cover - a bookkeeping bug must not go unnoticed
                log.error("wal pending below zero", extra={"event": "wal_pending_negative", "path": str(segment.path)})
                segment.pending = 0
            if segment.pending == 0 and segment.sealed:
                self._delete(segment)
                self._drop_claimed_owner_if_empty(segment.owner)
            elif segment is self._active and segment.pending == 0 and segment.size >= ROLL_WHEN_APPLIED_BYTES:
                self._roll()  # all of it is in Redis: start afresh, so a replay never re-reads applied writes

    def _delete(self, segment: Segment) -> None:
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        segment.owner.segments.discard(segment)

    @staticmethod
    def _close_fd(segment: Segment) -> None:
        if segment.fd is not None:
            os.close(segment.fd)
            segment.fd = None

    def _drop_claimed_owner_if_empty(self, owner: Owner) -> None:
        """A claimed owner with no segments left: delete its lock file, then let go of the lock. Segments
        go first, so whoever sees a lock file without segments has nothing to replay. Caller holds _lock."""
        if owner is self._owner or owner.segments:
            return
        with contextlib.suppress(FileNotFoundError):
            owner.lock_path.unlink()
        os.close(owner.lock_fd)
        self._claimed.pop(owner.owner_id, None)

    # --- recovery ------------------------------------------------------------------------------------
    def claim_orphans(self) -> list[tuple[Segment, list[Write]]]:
        """Segments of dead owners, now owned by this process, with their writes (to be applied and then
        released like our own)."""
        claimed: list[tuple[Segment, list[Write]]] = []
        for owner_id in sorted(self._orphan_candidates()):
            owner = self._claim_owner(owner_id)
            if owner is None:
                continue
            replayed = 0
            for path in sorted(self.directory.glob(f"wal-{owner_id}-*.log")):
                writes, skipped = read_segment(path)
                segment = Segment(path, owner, pending=len(writes), sealed=True, size=path.stat().st_size)
                with self._lock:
                    owner.segments.add(segment)
                    if not writes:
                        self._delete(segment)
                if skipped:
                    log.warning("wal lines skipped", extra={"event": "wal_torn_lines", "path": str(path),
                                                              "skipped": skipped})
                if writes:
                    claimed.append((segment, writes))
                    replayed += len(writes)
            log.info("wal owner claimed", extra={"event": "wal_claimed", "dead_owner": owner_id, "writes": replayed})
            with self._lock:
                self._drop_claimed_owner_if_empty(owner)
        return claimed

    def _orphan_candidates(self) -> set[str]:
        mine = {self.owner_id, *self._claimed}
        found = {p.name[len("owner-"):-len(".lock")] for p in self.directory.glob(LOCK_GLOB)}
        found |= {p.name[len("wal-"):].rsplit("-", 1)[0] for p in self.directory.glob(SEGMENT_GLOB)}
        return found - mine

    def _claim_owner(self, owner_id: str) -> Owner | None:
        lock_path = self.directory / f"owner-{owner_id}.lock"
        fd = _try_lock(lock_path)
        if fd is None:
            return None
        owner = Owner(owner_id, lock_path, fd)
        with self._lock:
            self._claimed[owner_id] = owner
        return owner

    # --- introspection -------------------------------------------------------------------------------
    def usage(self) -> tuple[int, int]:
        """(segment files, bytes) this process holds on disk: its own and the ones it claimed."""
        with self._lock:
            segments = [s for o in (self._owner, *self._claimed.values()) if o is not None for s in o.segments]
            return len(segments), sum(s.size for s in segments)


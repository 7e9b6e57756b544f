"""`leaderboard consume`: trades from a Redis Stream, through the same validation and apply step.

The stream `keys.trade_stream()` holds entries with one field `trades`, a JSON array of trade objects (the
shape POST /v1/trades takes). Consumers share the consumer group CONSUMER_GROUP, so several of them split
the entries between them (XREADGROUP, up to CONSUMER_COUNT entries per read).

Durability: here the stream's pending entries list plays the WAL's part. An entry stays pending until it
is acknowledged, and XACK is sent in the same MULTI/EXEC as the last board transaction that applies the
entry's trades (on Redis Cluster, where the stream lives in another slot, right after it). A consumer that
dies leaves its entries pending; a live consumer claims entries idle for CONSUMER_CLAIM_IDLE_MS (XAUTOCLAIM)
and applies them again, which counts nothing twice (the per-write markers of ranking/apply.py).

An entry with an invalid trade is refused whole (like an API batch): it is copied to the dead-letter
stream `keys.trade_stream_dead()` with the reason, and acknowledged, in one transaction. So is an entry whose
`trades` field is longer than MAX_CONTENT_LENGTH (the bound of a POST /v1/trades body, whose trades an entry
carries): it is refused by its length, before anything decodes it, and only its first MAX_CONTENT_LENGTH bytes
are copied.

Signals, as in rq's worker: the first SIGTERM/SIGINT finishes the batch in hand and stops; a second one
exits at once (the entries in hand stay pending and are claimed by another consumer).
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError, ResponseError

from .. import defaults, keys, metrics
from ..competitions.feed import competition_feed
from ..config import Settings
from ..metrics_server import process_metrics
from ..readiness import ReadyChecks, redis_ping_check
from ..signals import stop_on_signals
from .flusher import Applier, StreamAck
from .validation import InvalidWrite, MalformedJson, decode_trades
from .writes import Write, trade_write

log = logging.getLogger(__name__)

Entry = tuple[str, dict[bytes, bytes]]


def stream_drained(redis: Any, group: str) -> bool:
    """Every entry of the trade stream handed to `group` and acknowledged: nothing pending and the group's
    last-delivered id is the stream's last id. (Not XINFO GROUPS' `lag`, which Redis only has from 7.0; the
    embedded default is 6.2.) False while the stream or the group does not exist yet."""
    try:
        groups = {_text(g["name"]): g for g in redis.xinfo_groups(keys.trade_stream())}
        last_id = redis.xinfo_stream(keys.trade_stream())["last-generated-id"]
    except ResponseError:  # no such key
        return False
    found = groups.get(group)
    return found is not None and found["pending"] == 0 and _text(found["last-delivered-id"]) == _text(last_id)


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class TradeStreamConsumer:
    def __init__(self, settings: Settings, redis: Any, name: str | None = None, group: str | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.name = name or default_consumer_name()
        self.group = group or settings.CONSUMER_GROUP
        self.stream = keys.trade_stream()
        self.dead_stream = keys.trade_stream_dead()
        self.applier = Applier(
            redis,
            chunk_writes=settings.APPLY_CHUNK_WRITES,
            marker_ttl=settings.DEDUPE_WINDOW_SECONDS,
            history_days=settings.HISTORY_DAYS,
            ack_in_transaction=not settings.REDIS_CLUSTER,
            crash_point=str(settings.extra.get("INGEST_CRASH_POINT", "")),
            source="stream",
            feed=competition_feed(redis, settings),
        )
        self.applied_entries = 0
        self.dead_entries = 0
        self._last_claim = float("-inf")

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stopping: Callable[[], bool]) -> None:
        """Read, validate, apply and acknowledge until `stopping()`; retries with back-off while Redis fails."""
        backoff = 0.0
        need_group = True  # at start, and after any failure (a Redis restarted without its data has no group)
        while not stopping():
            try:
                if need_group:
                    self.ensure_group()
                    need_group = False
                entries = self.claim_stale() or self.read_new()
                if entries:
                    self.process(entries)
                backoff = 0.0
            except RedisError as exc:
                metrics.REDIS_ERRORS.labels("consume").inc()
                need_group = True
                backoff = min(self.settings.FLUSH_RETRY_MAX_SECONDS, max(0.05, backoff * 2))
                log.warning("stream consumer: redis failed", extra={"event": "consume_failed", "error": repr(exc)})
                time.sleep(backoff)

    def claim_stale(self) -> list[Entry]:
        """Entries another (dead) consumer read but never acknowledged."""
        if time.monotonic() - self._last_claim < self.settings.CONSUMER_CLAIM_IDLE_MS / 2000:
            return []
        self._last_claim = time.monotonic()
        reply = self.redis.xautoclaim(self.stream, self.group, self.name, self.settings.CONSUMER_CLAIM_IDLE_MS,
                                      start_id="0-0", count=self.settings.CONSUMER_COUNT)
        entries = [(_text(entry_id), fields) for entry_id, fields in reply[1] if fields]
        if entries:
            log.info("claimed stale entries", extra={"event": "consume_claimed", "entries": len(entries)})
        return entries

    def read_new(self) -> list[Entry]:
        reply = self.redis.xreadgroup(self.group, self.name, {self.stream: ">"}, count=self.settings.CONSUMER_COUNT,
                                      block=self.settings.CONSUMER_BLOCK_MS)
        return [(_text(entry_id), fields) for _stream, items in (reply or []) for entry_id, fields in items]

    def process(self, entries: list[Entry]) -> None:
        """Apply the valid entries (acknowledged with their last transaction); dead-letter the others."""
        now = datetime.now(UTC)
        writes: list[Write] = []
        good: list[str] = []
        dead: list[tuple[str, str, bytes, int]] = []  # entry id, reason, the copy kept, trades it carried
        limit = self.settings.MAX_CONTENT_LENGTH
        for entry_id, fields in entries:
            payload = fields.get(b"trades", b"")
            if len(payload) > limit:  # never decoded: its trade count is unknown, counted as 1
                dead.append((entry_id, too_large(len(payload), limit), payload[:limit], 1))
                continue
            try:
                trades = decode_trades(payload, now, self.settings, array=True).trades
            except (MalformedJson, InvalidWrite) as exc:
                reason = f"trades: not valid JSON ({exc})" if isinstance(exc, MalformedJson) else str(exc)
                dead.append((entry_id, reason, payload, exc.trades))
            else:
                writes.extend(trade_write(trade) for trade in trades)
                good.append(entry_id)
        if dead:
            self.dead_letter(dead)
        if good:
            self.applier.apply(writes, StreamAck(self.stream, self.group, good))
            self.applied_entries += len(good)
            metrics.TRADES_ACCEPTED.labels("stream").inc(len(writes))

    def ready_checks(self) -> ReadyChecks:
        """This consumer's /ready (on METRICS_BIND): Redis answers; its group, name and counts."""
        from ..redis_client import connect

        checks = ReadyChecks()
        checks.add("redis", redis_ping_check(connect(self.settings, timeout=defaults.REDIS_HEALTH_TIMEOUT)))
        checks.add("consumer", lambda: {"ok": True, "source": "stream", "group": self.group, "consumer": self.name,
                                        "applied_entries": self.applied_entries, "dead_entries": self.dead_entries})
        return checks

    def dead_letter(self, dead: list[tuple[str, str, bytes, int]]) -> None:
        """Copy refused entries (id, reason, payload kept, trades carried) to the dead-letter stream and acknowledge
        them, in one transaction. The trade counts come from the one decode `process` did (none for an entry
        refused by its length), so a refused entry is never decoded again."""
        with self.redis.pipeline(transaction=True) as pipe:
            for entry_id, reason, payload, _trades in dead:
                pipe.xadd(self.dead_stream, {"entry_id": entry_id, "reason": reason, "trades": payload})
            pipe.xack(self.stream, self.group, *[entry_id for entry_id, *_rest in dead])
            pipe.execute()
        self.dead_entries += len(dead)
        metrics.TRADES_REJECTED.labels("dead_letter").inc(sum(trades for *_rest, trades in dead))
        log.warning("stream entries dead-lettered", extra={"event": "consume_dead_letter", "entries": len(dead),
                                                           "reason": dead[0][1][:200]})


def too_large(size: int, limit: int) -> str:
    """The dead-letter reason of an entry whose `trades` field is over MAX_CONTENT_LENGTH."""
    return (f"trades: too large: {size} bytes; at most {limit} (MAX_CONTENT_LENGTH), not decoded; "
            f"the copy here keeps its first {limit} bytes")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def settle_gc() -> None:
    """Garbage collection for a consumer process, once it has started: what is alive now (modules, settings,
    clients) is frozen out of the collector, and the youngest generation is collected every
    defaults.CONSUMER_GC_THRESHOLD allocations. A batch's trades, writes and script arguments are short-lived
    tuples and lists (no cycles), which Python's default of 700 had it traverse again and again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(defaults.CONSUMER_GC_THRESHOLD, *gc.get_threshold()[1:])


def run_consumer(settings: Settings, name: str | None = None, group: str | None = None) -> None:
    from ..redis_client import connect

    redis = connect(settings)
    stopping = stop_on_signals("consume")
    consumer = TradeStreamConsumer(settings, redis, name, group)
    settle_gc()
    with process_metrics(settings.METRICS_BIND, settings.METRICS_TOKEN, consumer.ready_checks()):
        log.info("stream consumer started", extra={"event": "consume_started", "consumer": consumer.name,
                                                   "group": consumer.group, "metrics_bind": settings.METRICS_BIND})
        try:
            consumer.run(stopping)
        finally:
            log.info("stream consumer stopped", extra={"event": "consume_stopped", "dead": consumer.dead_entries,
                                                       "applied": consumer.applied_entries})
            redis.close()

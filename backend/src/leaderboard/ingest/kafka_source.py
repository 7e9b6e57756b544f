"""`leaderboard consume --source kafka`: trades from a venue's Kafka topic, exactly once per trade.

A message's value is a POST /v1/trades body (one trade object, or `{"trades": [...]}`), checked by the same
validation, and turned into the same writes, applied by the same `Applier` (ranking/apply.py's script, whose
exactly-once markers make any redelivery count nothing). Messages are keyed by trader id, so one trader's
trades stay in order on one partition; consumers of one group (KAFKA_GROUP_ID) split the partitions.

The loop, in the consumer's own thread: take up to KAFKA_BATCH_MESSAGES messages; dead-letter the invalid
ones (copied to KAFKA_DEAD_LETTER_TOPIC with the reason and where they came from, and wait until the broker
has them); apply the valid ones' writes (retried with back-off while Redis fails); only then commit, for
every partition, the offset after the batch's last message. Auto-commit is off, so an offset is never
committed before its trades are in Redis:
- kill -9 (or any crash) before the commit: the group hands the partitions to another member (after
  KAFKA_SESSION_TIMEOUT_MS), which reads from the last committed offset and re-applies the batch: the markers
  count nothing twice;
- a rebalance: the callbacks run inside the poll, between batches, so no batch is half-done; a commit that
  fails because the partition moved is harmless for the same reason;
- Redis down: the batch is retried, nothing is committed; a consumer that cannot poll for
  KAFKA_MAX_POLL_INTERVAL_MS leaves the group and its partitions go to the others.
An invalid message never blocks its partition: it is dead-lettered and its offset committed with the batch.

Lag per owned partition (`leaderboard_kafka_consumer_lag`) = the high watermark seen in fetch responses minus
the committed offset; `/ready` on METRICS_BIND shows the assignment with each partition's lag.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from .. import keys, metrics
from ..competitions.feed import competition_feed
from ..config import Settings
from ..defaults import KAFKA_DELIVERY_TIMEOUT_SECONDS, KAFKA_LAG_INTERVAL_SECONDS
from ..metrics_server import process_metrics
from ..readiness import ReadyChecks
from ..signals import stop_on_signals
from .consumer import settle_gc
from .flusher import Applier
from .validation import InvalidWrite, MalformedJson, decode_trades
from .writes import Write, trade_write

log = logging.getLogger(__name__)

SOURCE = "kafka"
HEARTBEAT_FORGET_MS = 3_600_000  # heartbeats older than this are removed (members that died long ago)


def client_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings shared by consumer, producer and admin: brokers and security (SASL/SSL)."""
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        raise ValueError("set KAFKA_BOOTSTRAP_SERVERS (host:port of the Kafka brokers)")
    config: dict[str, Any] = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "security.protocol": settings.KAFKA_SECURITY_PROTOCOL,
        "client.id": f"leaderboard-{socket.gethostname()}",
        "logger": log,  # librdkafka's own lines go through our JSON logging, not raw to stderr
    }
    optional = {
        "sasl.mechanism": settings.KAFKA_SASL_MECHANISM,
        "sasl.username": settings.KAFKA_SASL_USERNAME,
        "sasl.password": settings.KAFKA_SASL_PASSWORD,
        "ssl.ca.location": settings.KAFKA_SSL_CA_LOCATION,
        "ssl.certificate.location": settings.KAFKA_SSL_CERTIFICATE_LOCATION,
        "ssl.key.location": settings.KAFKA_SSL_KEY_LOCATION,
        "ssl.key.password": settings.KAFKA_SSL_KEY_PASSWORD,
    }
    config.update({name: value for name, value in optional.items() if value})
    return config


def consumer_config(settings: Settings, group_id: str) -> dict[str, Any]:
    return {
        **client_config(settings),
        "group.id": group_id,
        "enable.auto.commit": False,  # offsets are committed by us, after the apply
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",  # a new group reads the topic from its beginning
        "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
        "max.poll.interval.ms": settings.KAFKA_MAX_POLL_INTERVAL_MS,
        "fetch.wait.max.ms": 100,
    }


def producer_config(settings: Settings) -> dict[str, Any]:
    return {**client_config(settings), "acks": "all", "enable.idempotence": True, "linger.ms": 5}


def ensure_topics(settings: Settings, topics: Iterable[str], partitions: int | None = None) -> None:
    """Create the topics that do not exist yet (KAFKA_TOPIC_PARTITIONS partitions, the broker's default
    replication); existing ones are left as they are."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(client_config(settings))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [NewTopic(t, partitions or settings.KAFKA_TOPIC_PARTITIONS, -1) for t in topics if t not in existing]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted).items():
        try:
            future.result(timeout=10)
            log.info("kafka topic created", extra={"event": "kafka_topic_created", "topic": topic})
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


@dataclass(frozen=True)
class Refused:
    """A message that cannot be applied, and why."""

    kind: str  # metric label: invalid_json, invalid_trade, too_large, empty
    reason: str
    message: Any
    trades: int  # how many trades it carried (1 when refused unread), for leaderboard_trades_rejected


def decode_message(value: bytes | None, settings: Settings,
                   now: datetime) -> list[Write] | tuple[str, str, int]:
    """A message value as writes, or (kind, reason, trades it carried) when it must be dead-lettered. The size is
    checked before anything is decoded (a message refused unread counts 1 trade: one over KAFKA_MAX_MESSAGE_BYTES
    is never decoded, not even to be counted); the body goes through POST /v1/trades' validation
    (all-or-nothing), with `now` as the time of trades without `ts` (see message_time)."""
    if not value:
        return "empty", "empty message (no value)", 1
    if len(value) > settings.KAFKA_MAX_MESSAGE_BYTES:
        limit = settings.KAFKA_MAX_MESSAGE_BYTES
        return "too_large", f"message of {len(value)} bytes; at most {limit} (KAFKA_MAX_MESSAGE_BYTES)", 1
    try:
        trades = decode_trades(value, now, settings).trades
    except MalformedJson as exc:
        return "invalid_json", f"not valid JSON ({exc})", exc.trades
    except InvalidWrite as exc:
        return "invalid_trade", str(exc), exc.trades
    return [trade_write(trade) for trade in trades]


def message_time(message: Any, now: datetime) -> datetime:
    """The event time of a message's trades that carry no `ts`: the message's timestamp (when the venue
    produced it, or the broker appended it), never later than `now`; `now` when the message has none. The
    future-skew check of a trade's own `ts` is measured from it too. So a rebuild dates trades as the
    consumer did."""
    kind, stamp_ms = message.timestamp()
    if kind == 0 or stamp_ms is None or stamp_ms <= 0:  # TIMESTAMP_NOT_AVAILABLE
        return now
    return min(now, datetime.fromtimestamp(stamp_ms / 1000, UTC))


class KafkaTradeConsumer:
    """One member of the consumer group (see the module docstring). `run(stopping)` until asked to stop."""

    def __init__(self, settings: Settings, redis: Any, group: str | None = None) -> None:
        from confluent_kafka import Consumer, Producer

        self.settings = settings
        self.redis = redis
        self.group = group or settings.KAFKA_GROUP_ID
        self.topic = settings.KAFKA_TOPIC
        self.dead_topic = settings.kafka_dead_letter_topic
        self.consumer = Consumer(consumer_config(settings, self.group))
        self.dead_producer = Producer(producer_config(settings))
        self.applier = Applier(
            redis, chunk_writes=settings.APPLY_CHUNK_WRITES, marker_ttl=settings.DEDUPE_WINDOW_SECONDS,
            history_days=settings.HISTORY_DAYS, ack_in_transaction=False, source=SOURCE,
            feed=competition_feed(redis, settings),  # the running competitions count Kafka trades too
        )
        self.applied_messages = 0
        self.dead_messages = 0
        self._lock = threading.Lock()  # guards the fields /ready reads from the metrics thread
        self._assigned: dict[int, dict[str, int]] = {}  # partition -> {committed, high, lag}
        self._joined = False
        self._redis_ok = True
        self._next_lag = 0.0
        self.member = f"{socket.gethostname()}-{os.getpid()}"
        self.heartbeat_key = keys.kafka_consumers(self.group)

    # --- group membership ---
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        from confluent_kafka import KafkaException

        try:  # where the group stands, for the lag until this member's first commit
            committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
        except KafkaException as exc:
            log.warning("kafka: committed offsets unknown", extra={"event": "kafka_committed_unknown",
                                                                   "error": str(exc)})
            committed = {}
        with self._lock:
            self._joined = True
            for tp in partitions:
                self._assigned[tp.partition] = {"committed": max(committed.get(tp.partition, 0), 0), "high": -1,
                                                "lag": 0}
        log.info("kafka partitions assigned", extra={"event": "kafka_assigned",
                                                     "partitions": sorted(tp.partition for tp in partitions)})

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        with self._lock:
            for tp in partitions:
                self._assigned.pop(tp.partition, None)
                with contextlib.suppress(KeyError):  # never measured
                    metrics.KAFKA_LAG.remove(tp.topic, str(tp.partition))
        log.info("kafka partitions revoked", extra={"event": "kafka_revoked",
                                                    "partitions": sorted(tp.partition for tp in partitions)})

    # --- the loop ---
    def run(self, stopping: Callable[[], bool]) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        try:
            while not stopping():
                messages = self.consumer.consume(self.settings.KAFKA_BATCH_MESSAGES,
                                                 self.settings.KAFKA_POLL_TIMEOUT_MS / 1000)
                if messages:
                    self.process(messages, stopping)
                self.refresh_lag()
        finally:
            self.consumer.close()  # leaves the group at once: the others take the partitions without waiting
            with contextlib.suppress(RedisError):
                self.redis.zrem(self.heartbeat_key, self.member)
            self.dead_producer.flush(KAFKA_DELIVERY_TIMEOUT_SECONDS)

    def process(self, messages: list[Any], stopping: Callable[[], bool] = lambda: False) -> bool:
        """Dead-letter, apply, then commit one batch. False when stopped before it was applied (nothing is
        committed then: the group redelivers it)."""
        now = datetime.now(UTC)
        writes: list[Write] = []
        refused: list[Refused] = []
        next_offsets: dict[tuple[str, int], int] = {}
        applied_here = 0
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise RuntimeError(f"kafka consumer failed: {error}")
                log.warning("kafka consume error", extra={"event": "kafka_error", "error": str(error)})
                continue
            next_offsets[(message.topic(), message.partition())] = message.offset() + 1
            decoded = decode_message(message.value(), self.settings, message_time(message, now))
            if isinstance(decoded, tuple):
                kind, reason, trades = decoded
                refused.append(Refused(kind, reason, message, trades))
            else:
                writes.extend(decoded)
                applied_here += 1
        if refused and not self._retry(lambda: self.dead_letter(refused), stopping):
            return False
        if writes and not self._retry(lambda: self.applier.apply(writes), stopping):
            return False
        metrics.TRADES_ACCEPTED.labels(SOURCE).inc(len(writes))
        self.applied_messages += applied_here
        self.commit(next_offsets)
        return True

    def _retry(self, step: Callable[[], Any], stopping: Callable[[], bool]) -> bool:
        """Run `step` until it succeeds (back-off while Redis or the broker fails); False if stopped first."""
        backoff = 0.0
        while True:
            try:
                step()
            except (RedisError, DeliveryFailed) as exc:
                if isinstance(exc, RedisError):
                    metrics.REDIS_ERRORS.labels("consume").inc()
                    with self._lock:
                        self._redis_ok = False
                log.warning("kafka consumer: apply failed; retrying", extra={"event": "kafka_apply_failed",
                                                                             "error": repr(exc)})
                if stopping():
                    return False
                backoff = min(self.settings.FLUSH_RETRY_MAX_SECONDS, max(0.05, backoff * 2))
                time.sleep(backoff)
                continue
            with self._lock:
                self._redis_ok = True
            return True

    def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if not next_offsets:
            return
        offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in next_offsets.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # e.g. the partitions moved in a rebalance: the new owner re-reads them
            log.warning("kafka commit failed (the batch is applied; a redelivery counts nothing)",
                        extra={"event": "kafka_commit_failed", "error": str(exc)})
            return
        with self._lock:
            for (_topic, partition), offset in next_offsets.items():
                if partition in self._assigned:
                    self._assigned[partition]["committed"] = offset
                    self._update_lag(partition)

    def dead_letter(self, refused: list[Refused]) -> None:
        """Copy refused messages to the dead-letter topic (same key, headers say why and whence) and wait for the
        broker's acknowledgement; raises DeliveryFailed (the batch is retried, so a copy may repeat)."""
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        limit = self.settings.KAFKA_MAX_MESSAGE_BYTES
        for item in refused:
            message = item.message
            headers = [("reason", item.reason.encode()), ("kind", item.kind.encode()),
                       ("source_topic", message.topic().encode()),
                       ("source_partition", str(message.partition()).encode()),
                       ("source_offset", str(message.offset()).encode())]
            self.dead_producer.produce(self.dead_topic, value=(message.value() or b"")[:limit], key=message.key(),
                                       headers=headers, on_delivery=delivered)
        left = self.dead_producer.flush(KAFKA_DELIVERY_TIMEOUT_SECONDS)
        if failures or left:
            raise DeliveryFailed(f"dead-letter topic {self.dead_topic}: {failures[:1] or [f'{left} undelivered']}")
        for item in refused:
            metrics.KAFKA_DEAD_LETTERED.labels(item.kind).inc()
            metrics.TRADES_REJECTED.labels("dead_letter").inc(item.trades)
        self.dead_messages += len(refused)
        log.warning("kafka messages dead-lettered", extra={"event": "kafka_dead_letter", "messages": len(refused),
                                                           "reason": refused[0].reason[:200]})

    # --- lag and readiness ---
    def refresh_lag(self, force: bool = False) -> None:
        """Per owned partition: high watermark (from the last fetch response, no broker round trip) minus the
        committed offset; at most every KAFKA_LAG_INTERVAL_SECONDS."""
        from confluent_kafka import TopicPartition

        if not force and time.monotonic() < self._next_lag:
            return
        self._next_lag = time.monotonic() + KAFKA_LAG_INTERVAL_SECONDS
        self.heartbeat()
        with self._lock:
            partitions = list(self._assigned)
        for partition in partitions:
            try:
                _low, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, partition), cached=True)
            except Exception:  # not fetched from yet
                continue
            with self._lock:
                state = self._assigned.get(partition)
                if state is not None and high is not None and high >= 0:
                    state["high"] = max(high, state["high"])
                    self._update_lag(partition)

    def heartbeat(self) -> None:
        """This member's heartbeat, which `leaderboard rebuild` checks (members silent for an hour are dropped);
        also /ready's Redis check while no batch comes."""
        now_ms = int(time.time() * 1000)
        try:
            with self.redis.pipeline(transaction=False) as pipe:  # one key: fine on Redis Cluster too
                pipe.zadd(self.heartbeat_key, {self.member: now_ms})
                pipe.zremrangebyscore(self.heartbeat_key, 0, now_ms - HEARTBEAT_FORGET_MS)
                pipe.execute()
            ok = True
        except RedisError:
            ok = False
        with self._lock:
            self._redis_ok = ok

    def _update_lag(self, partition: int) -> None:
        """(holding the lock) the lag of an owned partition from its last high watermark and commit."""
        state = self._assigned[partition]
        if state["high"] >= 0:
            state["lag"] = max(state["high"] - state["committed"], 0)
            metrics.KAFKA_LAG.labels(self.topic, str(partition)).set(state["lag"])

    def kafka_check(self) -> dict[str, Any]:
        """/ready's Kafka part: not ok until the consumer has joined its group; the assignment with each
        partition's committed offset, high watermark and lag, and the counts."""
        with self._lock:
            assignment = [{"topic": self.topic, "partition": p, **state} for p, state in sorted(self._assigned.items())]
            joined = self._joined
        check: dict[str, Any] = {
            "ok": joined,
            "state": "joined" if joined else "joining",
            "source": SOURCE,
            "group": self.group,
            "topic": self.topic,
            "assignment": assignment,
            "lag": sum(item["lag"] for item in assignment),
            "applied_messages": self.applied_messages,
            "dead_lettered_messages": self.dead_messages,
        }
        if not joined:
            check["reason"] = "joining the consumer group"
        return check

    def redis_check(self) -> dict[str, Any]:
        """/ready's Redis part: not ok while the last apply or heartbeat failed."""
        with self._lock:
            redis_ok = self._redis_ok
        return {"ok": True} if redis_ok else {"ok": False, "reason": "redis failing (last apply or heartbeat)"}

    def ready_checks(self) -> ReadyChecks:
        checks = ReadyChecks()
        checks.add("kafka", self.kafka_check)
        checks.add("redis", self.redis_check)
        return checks


class DeliveryFailed(Exception):
    """The broker did not acknowledge a produced message in time."""


def run_kafka_consumer(settings: Settings, group: str | None = None) -> None:
    from confluent_kafka import KafkaException

    from ..redis_client import connect

    redis = connect(settings)
    stopping = stop_on_signals("consume")
    backoff = 0.5
    while True:  # Kafka not up yet (a fresh compose stack): wait for it, as for Redis
        try:
            ensure_topics(settings, [settings.KAFKA_TOPIC, settings.kafka_dead_letter_topic])
            break
        except KafkaException as exc:
            log.warning("kafka unreachable; retrying", extra={"event": "kafka_unreachable", "error": str(exc)})
            if stopping():
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, settings.FLUSH_RETRY_MAX_SECONDS)
    consumer = KafkaTradeConsumer(settings, redis, group)
    settle_gc()
    with process_metrics(settings.METRICS_BIND, settings.METRICS_TOKEN, consumer.ready_checks()):
        log.info("kafka consumer started", extra={"event": "consume_started", "source": SOURCE, "group": consumer.group,
                                                  "topic": consumer.topic, "metrics_bind": settings.METRICS_BIND})
        try:
            consumer.run(stopping)
        finally:
            log.info("kafka consumer stopped", extra={"event": "consume_stopped", "source": SOURCE, "dead":
                                                      consumer.dead_messages, "applied": consumer.applied_messages})
            redis.close()

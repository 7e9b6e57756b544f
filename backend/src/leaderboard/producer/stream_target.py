"""Delivers batches to the trade Redis Stream: one XADD per batch, field `trades` = the JSON array, the
stream capped near MAXLEN (approximate trimming, which Redis does cheaply)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from redis.exceptions import RedisError

from .. import keys
from .delivery import Delivery, ProducerError, interruptible_sleep
from .http_target import backoff_seconds


class StreamTarget:
    def __init__(
        self, redis: Any, maxlen: int, *, max_attempts: int = 10, stopping: Callable[[], bool] = lambda: False
    ) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.max_attempts = max_attempts
        self.stopping = stopping

    def describe(self) -> str:
        return f"stream {keys.trade_stream()} (MAXLEN ~{self.maxlen})"

    def start(self) -> None:
        try:
            self.redis.ping()
        except RedisError as exc:
            raise ProducerError(f"Redis is unreachable: {exc}") from exc

    def send(self, trades: list[dict[str, Any]]) -> Delivery:
        fields = {"trades": orjson.dumps(trades)}
        last_problem = ""
        for attempt in range(self.max_attempts):
            try:
                self.redis.xadd(keys.trade_stream(), fields, maxlen=self.maxlen, approximate=True)
                return Delivery(len(trades), 0, retries=attempt)
            except RedisError as exc:
                last_problem = f"{exc.__class__.__name__}: {exc}"
                interruptible_sleep(backoff_seconds(attempt), self.stopping)
        raise ProducerError(f"XADD still failed after {self.max_attempts} attempts: {last_problem}")

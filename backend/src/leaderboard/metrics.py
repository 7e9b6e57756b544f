"""Prometheus metrics: the objects every part of the service records into, and their exposition. The /metrics
view is in api/health.py; the standalone server of the processes without an app in metrics_server.py.

Multiprocess-safe: `leaderboard serve` sets PROMETHEUS_MULTIPROC_DIR (under DATA_DIR, wiped at start)
before gunicorn forks, so each worker writes its samples to mmap files there and a scrape of any worker
sums them. Without that variable (tests, one process) the default in-process registry is used.

prometheus_client picks its storage when it is first imported, so `serve` sets the variable before
anything imports this module.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# --- HTTP (recorded here, by the request hooks) ---
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_REQUESTS = Counter(
    "leaderboard_http_requests", "HTTP requests answered, by route (URL rule), method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "leaderboard_http_request_duration_seconds", "Time from request start to response, by route and method.",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)

# --- write path (recorded by ingest/ and the write views) ---
TRADES_ACCEPTED = Counter(
    "leaderboard_trades_accepted", "Writes (trades, scores) accepted into the WAL, by source (http, stream).",
    ["source"],
)
TRADES_REJECTED = Counter(
    "leaderboard_trades_rejected", "Writes refused, by reason: the error code answered (validation_error, forbidden, "
    "buffer_full, rate_limited, ...) or dead_letter for invalid stream entries.",
    ["reason"],
)
TRADES_DUPLICATE = Counter(
    "leaderboard_trades_duplicate", "Writes skipped because their trade_id/action_id was already applied.",
    ["source"],
)
TRADES_CONFLICT = Counter(
    "leaderboard_trades_conflict", "Writes refused because their id was already used with other content: answered "
    "409 trade_id_conflict (stage=request), or found at flush time and counted nowhere (stage=flush).",
    ["stage"],
)
TRADE_CLAIMS_SKIPPED = Counter(
    "leaderboard_trade_claims_skipped", "Trade requests accepted without the synchronous id claim (Redis slow or "
    "unreachable): a conflict among them is found at flush time instead, by reason.",
    ["reason"],
)
BUFFER_DEPTH = Gauge(
    "leaderboard_buffer_depth", "Writes held in the in-memory buffer, waiting for a flush (summed over live workers).",
    multiprocess_mode="livesum",
)
WAL_BYTES = Gauge(
    "leaderboard_wal_bytes", "Bytes in the write-ahead log segments not yet truncated (summed over live workers).",
    multiprocess_mode="livesum",
)
WAL_SEGMENTS = Gauge(
    "leaderboard_wal_segments", "Write-ahead log segment files on disk (summed over live workers).",
    multiprocess_mode="livesum",
)
FLUSH_BATCH_SIZE = Histogram(
    "leaderboard_flush_batch_size", "Writes per flush into Redis (one MULTI/EXEC per board).",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
FLUSH_LATENCY = Histogram(
    "leaderboard_flush_duration_seconds", "Time one flush took, Redis round trips included.",
    buckets=LATENCY_BUCKETS,
)
FLUSH_FAILURES = Counter(
    "leaderboard_flush_failures", "Flushes that failed (the writes stay buffered and in the WAL), by reason.",
    ["reason"],
)
REDIS_ERRORS = Counter(
    "leaderboard_redis_errors", "Redis calls that raised, by operation (flush, snapshot, lock, auth, ...).",
    ["operation"],
)

# --- Kafka source (recorded by ingest/kafka_source.py; applied and duplicates are the source="kafka" series above) ---
KAFKA_LAG = Gauge(
    "leaderboard_kafka_consumer_lag", "Messages of a partition this consumer owns that are not applied and committed "
    "yet (high watermark minus committed offset), by topic and partition.",
    ["topic", "partition"], multiprocess_mode="livemax",
)
KAFKA_DEAD_LETTERED = Counter(
    "leaderboard_kafka_dead_lettered", "Kafka messages refused and copied to the dead-letter topic, by kind "
    "(invalid_json, invalid_trade, too_large, empty).",
    ["kind"],
)

# --- read path and scheduler (recorded by read_cache and jobs/scheduler) ---
SNAPSHOT_AGE = Gauge(
    "leaderboard_snapshot_age_seconds", "Age of the top-N snapshot a worker serves, by board and period "
    "(the oldest over live workers).",
    ["board", "period"], multiprocess_mode="livemax",
)
JOB_RUNS = Counter(
    "leaderboard_job_runs", "Scheduler job runs, by job and outcome (ok, error, skipped_locked: another process "
    "holds the job's lock, skipped_done: another process already ran this tick).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "leaderboard_job_duration_seconds", "Time a scheduler job run took, by job.",
    ["job"], buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)

# --- live tier (recorded by live/ticker.py and live/stream.py) ---
LIVE_SUBSCRIBERS = Gauge(
    "leaderboard_live_subscribers", "Open live streams (Server-Sent Events), summed over live workers.",
    multiprocess_mode="livesum",
)
LIVE_EVENTS_SENT = Counter(
    "leaderboard_live_events_sent", "Events written to live streams, by kind (snapshot, update, replay).",
    ["kind"],
)
LIVE_DROPPED = Counter(
    "leaderboard_live_dropped", "Live streams ended by the server, by reason (slow_client: it did not take its "
    "events in time; lifetime: LIVE_MAX_STREAM_SECONDS reached; shutdown: the process is stopping).",
    ["reason"],
)
LIVE_REJECTED = Counter(
    "leaderboard_live_rejected", "Stream requests refused by a limit, by reason (process_full: 503, address_full: "
    "429).",
    ["reason"],
)
LIVE_TICK_LAG = Histogram(
    "leaderboard_live_tick_lag_seconds", "Ticker lag: from a tick's scheduled instant until its events are "
    "published.", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LIVE_PUBLISHED = Counter(
    "leaderboard_live_published", "Update events the live ticker published (one per changed board period).",
)
WEBHOOK_ATTEMPTS = Counter(
    "leaderboard_webhook_attempts", "Result webhook attempts by outcome: acknowledged (2xx), failed (another "
    "status, a timeout, a connection error; retried with back-off), refused (scheme or address not allowed).",
    ["outcome"],
)

UNMATCHED_ROUTE = "<unmatched>"  # 404s: one label value, never the raw path (bounded cardinality)

def mark_worker_dead(_server: Any, worker: Any) -> None:
    """worker_exit/child_exit hook (worker_hooks.WORKER_HOOKS): drop the live gauges of a worker that is gone."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)


def exposition() -> bytes:
    """The text format of every metric, summed across worker processes when multiprocess."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return bytes(generate_latest(registry))
    return bytes(generate_latest(REGISTRY))


def scrape_authorized(header: str, token: str) -> bool:
    """A scrape's Authorization header is `Bearer METRICS_TOKEN` (anything goes when no token is set)."""
    return not token or hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labelled children, looked up once


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    children = _request_children.get((route, method, status))
    if children is None:  # routes x methods x statuses: bounded (unmatched paths share one route label)
        children = (HTTP_REQUESTS.labels(route, method, str(status)), HTTP_LATENCY.labels(route, method))
        _request_children[(route, method, status)] = children
    children[0].inc()
    children[1].observe(seconds)


"""Configuration: the only module that reads the environment.

`load_settings()` turns environment variables (and optional overrides, used by tests) into a typed,
validated `Settings`. A bad value is a `ConfigError` naming the variable, raised at start-up.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from . import defaults


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Typed settings. Field names are the environment variable names."""

    DEV_MODE: bool = False
    DATA_DIR: Path = Path("data")
    REDIS_URL: str = ""  # empty: start an embedded redis-server under DATA_DIR/redis
    REDIS_CLUSTER: bool = False
    EMBEDDED_REDIS_PORT: int = defaults.EMBEDDED_REDIS_PORT  # preferred port of the embedded Redis
    REDIS_SOCKET_TIMEOUT: float = defaults.REDIS_SOCKET_TIMEOUT
    JWT_SECRET_KEY: str = ""
    ACCESS_TOKEN_MINUTES: int = defaults.ACCESS_TOKEN_MINUTES
    REFRESH_TOKEN_DAYS: int = defaults.REFRESH_TOKEN_DAYS
    REGISTRATION_ENABLED: bool = True
    LOGIN_RATE_LIMIT: str = defaults.LOGIN_RATE_LIMIT
    LOGIN_ADDRESS_RATE_LIMIT: str = defaults.LOGIN_ADDRESS_RATE_LIMIT
    LOGIN_SUCCESS_RATE_LIMIT: str = defaults.LOGIN_SUCCESS_RATE_LIMIT
    LOGIN_SUCCESS_ADDRESS_RATE_LIMIT: str = defaults.LOGIN_SUCCESS_ADDRESS_RATE_LIMIT
    PASSWORD_HASH_CONCURRENCY: int = defaults.PASSWORD_HASH_CONCURRENCY
    PASSWORD_HASH_WAIT_MS: int = defaults.PASSWORD_HASH_WAIT_MS
    REGISTER_RATE_LIMIT: str = defaults.REGISTER_RATE_LIMIT
    RATELIMIT_ENABLED: bool = True
    REVOCATION_CACHE_SECONDS: float = defaults.REVOCATION_CACHE_SECONDS
    PASSWORD_MIN_LENGTH: int = defaults.PASSWORD_MIN_LENGTH
    MAX_CONTENT_LENGTH: int = defaults.MAX_CONTENT_LENGTH  # also bounds a stream entry before `consume` decodes it
    # write path
    MAX_BATCH: int = defaults.MAX_BATCH
    BUFFER_MAX_TRADES: int = defaults.BUFFER_MAX_TRADES
    BUFFER_MAX_AGE_MS: int = defaults.BUFFER_MAX_AGE_MS
    BUFFER_MAX_PENDING: int = defaults.BUFFER_MAX_PENDING
    WAL_DIR: Path | None = None  # default DATA_DIR/wal
    WAL_FSYNC: str = defaults.WAL_FSYNC
    WAL_FSYNC_INTERVAL_MS: int = defaults.WAL_FSYNC_INTERVAL_MS
    REDIS_DURABILITY_GRACE_MS: int = defaults.REDIS_DURABILITY_GRACE_MS
    DEDUPE_WINDOW_SECONDS: int = defaults.DEDUPE_WINDOW_SECONDS
    REQUEST_REDIS_TIMEOUT_MS: int = defaults.REQUEST_REDIS_TIMEOUT_MS
    REQUEST_REDIS_RETRY_SECONDS: float = defaults.REQUEST_REDIS_RETRY_SECONDS
    RATELIMIT_REDIS_TIMEOUT_MS: int = defaults.RATELIMIT_REDIS_TIMEOUT_MS
    MAX_FUTURE_SKEW_SECONDS: int = defaults.MAX_FUTURE_SKEW_SECONDS
    ACTION_TTL_SECONDS: int = defaults.ACTION_TTL_SECONDS
    MAX_SCORE: int = defaults.MAX_SCORE
    RETRY_AFTER_SECONDS: int = defaults.RETRY_AFTER_SECONDS
    INGEST_ENABLED: bool = True  # start the WAL + flusher in this process (off for read-only tools)
    MAX_TRADE_NOTIONAL: int = defaults.MAX_TRADE_NOTIONAL
    MIN_TRADE_NOTIONAL: int = defaults.MIN_TRADE_NOTIONAL
    APPLY_CHUNK_WRITES: int = defaults.APPLY_CHUNK_WRITES
    WAL_SEGMENT_MAX_BYTES: int = defaults.WAL_SEGMENT_MAX_BYTES
    FLUSH_RETRY_MAX_SECONDS: float = defaults.FLUSH_RETRY_MAX_SECONDS
    CONSUMER_GROUP: str = defaults.CONSUMER_GROUP
    CONSUMER_COUNT: int = defaults.CONSUMER_COUNT
    CONSUMER_BLOCK_MS: int = defaults.CONSUMER_BLOCK_MS
    CONSUMER_CLAIM_IDLE_MS: int = defaults.CONSUMER_CLAIM_IDLE_MS
    # Kafka source (ingest/kafka_source.py); the security settings are passed through to librdkafka
    KAFKA_BOOTSTRAP_SERVERS: str = ""  # host:port[,host:port...]; required by the Kafka commands
    KAFKA_TOPIC: str = defaults.KAFKA_TOPIC
    KAFKA_GROUP_ID: str = defaults.KAFKA_GROUP_ID
    KAFKA_DEAD_LETTER_TOPIC: str = ""  # default KAFKA_TOPIC + ".dead"
    KAFKA_BATCH_MESSAGES: int = defaults.KAFKA_BATCH_MESSAGES
    KAFKA_POLL_TIMEOUT_MS: int = defaults.KAFKA_POLL_TIMEOUT_MS
    KAFKA_MAX_MESSAGE_BYTES: int = defaults.KAFKA_MAX_MESSAGE_BYTES
    KAFKA_SESSION_TIMEOUT_MS: int = defaults.KAFKA_SESSION_TIMEOUT_MS
    KAFKA_MAX_POLL_INTERVAL_MS: int = defaults.KAFKA_MAX_POLL_INTERVAL_MS
    KAFKA_TOPIC_PARTITIONS: int = defaults.KAFKA_TOPIC_PARTITIONS
    KAFKA_SECURITY_PROTOCOL: str = "PLAINTEXT"
    KAFKA_SASL_MECHANISM: str = ""
    KAFKA_SASL_USERNAME: str = ""
    KAFKA_SASL_PASSWORD: str = ""
    KAFKA_SSL_CA_LOCATION: str = ""
    KAFKA_SSL_CERTIFICATE_LOCATION: str = ""
    KAFKA_SSL_KEY_LOCATION: str = ""
    KAFKA_SSL_KEY_PASSWORD: str = ""
    # read path
    REFRESH_SECONDS: int = defaults.REFRESH_SECONDS
    SNAPSHOT_TOP_N: int = defaults.SNAPSHOT_TOP_N
    MAX_LIMIT: int = defaults.MAX_LIMIT
    DEFAULT_LIMIT: int = defaults.DEFAULT_LIMIT
    HISTORY_DAYS: int = defaults.HISTORY_DAYS
    CURSOR_TTL_SECONDS: int = defaults.CURSOR_TTL_SECONDS
    MEMBER_CACHE_SECONDS: float = defaults.MEMBER_CACHE_SECONDS
    MAX_MEMBER_IDS: int = defaults.MAX_MEMBER_IDS
    # live tier
    LIVE_TICK_MS: int = defaults.LIVE_TICK_MS
    LIVE_TOP_N: int = defaults.LIVE_TOP_N
    LIVE_HISTORY: int = defaults.LIVE_HISTORY
    LIVE_MAX_SUBSCRIBERS: int = defaults.LIVE_MAX_SUBSCRIBERS
    LIVE_MAX_SUBSCRIBERS_PER_ADDRESS: int = defaults.LIVE_MAX_SUBSCRIBERS_PER_ADDRESS
    LIVE_MAX_STREAM_SECONDS: int = defaults.LIVE_MAX_STREAM_SECONDS
    LIVE_HEARTBEAT_SECONDS: float = defaults.LIVE_HEARTBEAT_SECONDS
    LIVE_SEND_TIMEOUT_SECONDS: float = defaults.LIVE_SEND_TIMEOUT_SECONDS
    LIVE_QUEUE_EVENTS: int = defaults.LIVE_QUEUE_EVENTS
    LIVE_RETRY_MS: int = defaults.LIVE_RETRY_MS
    # serving (granian or gunicorn)
    BIND: str = defaults.BIND
    WEB_SERVER: str = defaults.WEB_SERVER
    WEB_INTERFACE: str = defaults.WEB_INTERFACE
    MAX_REQUEST_LINE: int = defaults.MAX_REQUEST_LINE
    WEB_WORKERS: int = defaults.WEB_WORKERS
    WEB_BLOCKING_THREADS: int = defaults.WEB_BLOCKING_THREADS
    WEB_SWITCH_INTERVAL_MS: float = defaults.WEB_SWITCH_INTERVAL_MS
    WEB_WORKER_CLASS: str = defaults.WEB_WORKER_CLASS
    WEB_THREADS: int = defaults.WEB_THREADS
    WEB_TIMEOUT: int = defaults.WEB_TIMEOUT
    WEB_GRACEFUL_TIMEOUT: int = defaults.WEB_GRACEFUL_TIMEOUT
    UI_DIST_DIR: Path | None = None  # the dashboard's static export; default: the repo's frontend/out
    CORS_ORIGINS: tuple[str, ...] = ()
    LOG_LEVEL: str = "INFO"
    METRICS_TOKEN: str = ""
    # mock producer
    PRODUCER_USERNAME: str = ""  # a service account (leaderboard create-user --role service)
    PRODUCER_PASSWORD: str = ""
    PRODUCER_RATE: float = defaults.PRODUCER_RATE
    PRODUCER_STREAM_MAXLEN: int = defaults.PRODUCER_STREAM_MAXLEN
    ACCESS_LOG: bool = True  # one JSON line per request at info
    WRITE_RATE_LIMIT: str = defaults.WRITE_RATE_LIMIT
    WRITE_RATE_LIMIT_EXEMPT_ROLES: tuple[str, ...] = defaults.WRITE_RATE_LIMIT_EXEMPT_ROLES
    METRICS_BIND: str = defaults.METRICS_BIND  # host:port of /metrics in `scheduler` and `consume` ("" = off)
    # competitions
    FINALIZE_GRACE_SECONDS: float = defaults.FINALIZE_GRACE_SECONDS
    COMPETITION_START_SKEW_SECONDS: float = defaults.COMPETITION_START_SKEW_SECONDS
    COMPETITION_CACHE_SECONDS: float = defaults.COMPETITION_CACHE_SECONDS
    COMPETITION_JOB_SECONDS: int = defaults.COMPETITION_JOB_SECONDS
    TIES_RESOLUTION_MS: int = defaults.TIES_RESOLUTION_MS
    MAX_COMPETITION_DAYS: int = defaults.MAX_COMPETITION_DAYS
    WEBHOOK_SECRET: str = defaults.WEBHOOK_SECRET
    WEBHOOK_TIMEOUT_SECONDS: float = defaults.WEBHOOK_TIMEOUT_SECONDS
    WEBHOOK_RETRY_BASE_SECONDS: float = defaults.WEBHOOK_RETRY_BASE_SECONDS
    WEBHOOK_RETRY_MAX_SECONDS: float = defaults.WEBHOOK_RETRY_MAX_SECONDS
    WEBHOOK_POLL_SECONDS: float = defaults.WEBHOOK_POLL_SECONDS
    WEBHOOK_ALLOW_PRIVATE: bool = defaults.WEBHOOK_ALLOW_PRIVATE
    WEBHOOK_URL_MAX_LENGTH: int = defaults.WEBHOOK_URL_MAX_LENGTH
    extra: Mapping[str, Any] = field(default_factory=dict)  # test-only knobs, never from the environment

    @property
    def kafka_dead_letter_topic(self) -> str:
        return self.KAFKA_DEAD_LETTER_TOPIC or self.KAFKA_TOPIC + defaults.KAFKA_DEAD_LETTER_SUFFIX

    @property
    def refresh_token_seconds(self) -> int:
        """A refresh token's life: also how long a revocation must outlive the tokens it revokes."""
        return int(timedelta(days=self.REFRESH_TOKEN_DAYS).total_seconds())

    @property
    def wal_dir(self) -> Path:
        return self.WAL_DIR or self.DATA_DIR / "wal"

    @property
    def redis_dir(self) -> Path:
        return self.DATA_DIR / "redis"


_POSITIVE = {
    "ACCESS_TOKEN_MINUTES", "REFRESH_TOKEN_DAYS", "MAX_CONTENT_LENGTH", "MAX_BATCH", "BUFFER_MAX_TRADES",
    "BUFFER_MAX_AGE_MS", "BUFFER_MAX_PENDING", "WAL_FSYNC_INTERVAL_MS", "REDIS_DURABILITY_GRACE_MS",
    "DEDUPE_WINDOW_SECONDS",
    "ACTION_TTL_SECONDS", "MAX_SCORE", "RETRY_AFTER_SECONDS", "REFRESH_SECONDS", "SNAPSHOT_TOP_N",
    "MAX_LIMIT", "DEFAULT_LIMIT", "HISTORY_DAYS", "MAX_MEMBER_IDS", "PASSWORD_MIN_LENGTH", "WEB_WORKERS", "WEB_THREADS",
    "WEB_BLOCKING_THREADS", "WEB_TIMEOUT", "MAX_REQUEST_LINE", "WEB_GRACEFUL_TIMEOUT", "EMBEDDED_REDIS_PORT",
}
_POSITIVE |= {"PRODUCER_STREAM_MAXLEN", "CURSOR_TTL_SECONDS", "WEB_SWITCH_INTERVAL_MS"}
_POSITIVE |= {"LIVE_TOP_N", "LIVE_HISTORY", "LIVE_MAX_SUBSCRIBERS", "LIVE_MAX_SUBSCRIBERS_PER_ADDRESS",
              "LIVE_MAX_STREAM_SECONDS", "LIVE_HEARTBEAT_SECONDS", "LIVE_SEND_TIMEOUT_SECONDS", "LIVE_QUEUE_EVENTS",
              "LIVE_RETRY_MS"}
_POSITIVE |= {"COMPETITION_CACHE_SECONDS", "COMPETITION_JOB_SECONDS", "TIES_RESOLUTION_MS", "MAX_COMPETITION_DAYS",
              "WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_RETRY_MAX_SECONDS",
              "WEBHOOK_POLL_SECONDS", "WEBHOOK_URL_MAX_LENGTH"}
_POSITIVE |= {"KAFKA_BATCH_MESSAGES", "KAFKA_POLL_TIMEOUT_MS", "KAFKA_MAX_MESSAGE_BYTES", "KAFKA_SESSION_TIMEOUT_MS",
              "KAFKA_MAX_POLL_INTERVAL_MS", "KAFKA_TOPIC_PARTITIONS"}
_CHOICES = {
    "WAL_FSYNC": {"always", "interval"},
    "WEB_SERVER": {"granian", "gunicorn"},
    "WEB_INTERFACE": {"asgi", "wsgi"},
    "WEB_WORKER_CLASS": {"sync", "gthread"},
    "LOG_LEVEL": {"DEBUG", "INFO", "WARNING", "ERROR"},
    "KAFKA_SECURITY_PROTOCOL": set(defaults.KAFKA_SECURITY_PROTOCOLS),
    "KAFKA_SASL_MECHANISM": {"", *defaults.KAFKA_SASL_MECHANISMS},
}
KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")  # Kafka's own rule for topic names (group ids: same here)


def _convert(name: str, raw: Any, annotation: Any) -> Any:
    if not isinstance(raw, str):
        return raw  # overrides from tests arrive typed
    kind = str(annotation)
    try:
        if kind == "bool":
            return _bool(name, raw)
        if kind == "int":
            return int(raw.strip())
        if kind == "float":
            return float(raw.strip())
        if kind in ("Path", "Path | None"):
            return Path(raw) if raw.strip() else None
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from exc
    return raw


def _validate(values: dict[str, Any]) -> None:
    for name in _POSITIVE:
        if values[name] <= 0:
            raise ConfigError(f"{name} must be > 0, got {values[name]!r}")
    for name, allowed in _CHOICES.items():
        if values[name] not in allowed:
            raise ConfigError(f"{name} must be one of {sorted(allowed)}, got {values[name]!r}")
    if values["MAX_SCORE"] >= defaults.MAX_SAFE_SCORE:
        raise ConfigError("MAX_SCORE must be below 2^53 so sorted-set doubles stay exact")
    if values["EMBEDDED_REDIS_PORT"] > 65535:
        raise ConfigError(f"EMBEDDED_REDIS_PORT must be a port (1..65535), got {values['EMBEDDED_REDIS_PORT']!r}")
    if values["DEFAULT_LIMIT"] > values["MAX_LIMIT"]:
        raise ConfigError("DEFAULT_LIMIT must not exceed MAX_LIMIT")
    for name in ("MAX_TRADE_NOTIONAL", "MIN_TRADE_NOTIONAL", "APPLY_CHUNK_WRITES", "WAL_SEGMENT_MAX_BYTES",
                 "CONSUMER_COUNT", "CONSUMER_BLOCK_MS", "CONSUMER_CLAIM_IDLE_MS", "FLUSH_RETRY_MAX_SECONDS",
                 "REQUEST_REDIS_TIMEOUT_MS", "REQUEST_REDIS_RETRY_SECONDS", "REDIS_SOCKET_TIMEOUT",
                 "RATELIMIT_REDIS_TIMEOUT_MS"):
        if values[name] <= 0:
            raise ConfigError(f"{name} must be > 0, got {values[name]!r}")
    if values["MAX_TRADE_NOTIONAL"] >= defaults.MAX_SAFE_SCORE:
        raise ConfigError("MAX_TRADE_NOTIONAL must be below 2^53 so sorted-set doubles stay exact")
    unknown_roles = set(values["WRITE_RATE_LIMIT_EXEMPT_ROLES"]) - {"trader", "service", "admin"}
    if unknown_roles:
        raise ConfigError(f"WRITE_RATE_LIMIT_EXEMPT_ROLES: unknown role(s) {sorted(unknown_roles)}")
    bind_port = values["METRICS_BIND"].rpartition(":")[2]
    if values["METRICS_BIND"] and not (bind_port.isdigit() and 0 < int(bind_port) < 65536):
        raise ConfigError(f"METRICS_BIND must be host:port, got {values['METRICS_BIND']!r}")
    if values["LIVE_TICK_MS"] < 0:
        raise ConfigError(f"LIVE_TICK_MS must be >= 0 (0 = no live ticker), got {values['LIVE_TICK_MS']!r}")
    for name in ("COMPETITION_START_SKEW_SECONDS", "FINALIZE_GRACE_SECONDS"):
        if values[name] < 0:
            raise ConfigError(f"{name} must be >= 0, got {values[name]!r}")
    if values["WEBHOOK_SECRET"] and len(values["WEBHOOK_SECRET"]) < 32:
        raise ConfigError("WEBHOOK_SECRET must be at least 32 characters")
    for name in ("KAFKA_TOPIC", "KAFKA_GROUP_ID", "KAFKA_DEAD_LETTER_TOPIC"):
        optional = name == "KAFKA_DEAD_LETTER_TOPIC" and not values[name]  # empty: KAFKA_TOPIC + ".dead"
        if not optional and not KAFKA_NAME.fullmatch(values[name]):
            raise ConfigError(f"{name} must be 1-249 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    if values["KAFKA_MAX_POLL_INTERVAL_MS"] < values["KAFKA_SESSION_TIMEOUT_MS"]:
        raise ConfigError("KAFKA_MAX_POLL_INTERVAL_MS must not be below KAFKA_SESSION_TIMEOUT_MS")
    if values["KAFKA_SECURITY_PROTOCOL"].startswith("SASL") and not values["KAFKA_SASL_MECHANISM"]:
        raise ConfigError("KAFKA_SECURITY_PROTOCOL=SASL_* needs KAFKA_SASL_MECHANISM")
    if values["REDIS_CLUSTER"] and not values["REDIS_URL"]:
        raise ConfigError("REDIS_CLUSTER=1 needs REDIS_URL pointing at a cluster node")


def _dev_secret(data_dir: Path) -> str:
    """One random secret per data dir, so dev tokens survive restarts but never ship in the repo."""
    path = data_dir / "dev-jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None, need_secret: bool = True
) -> Settings:
    """Settings from `environ` (default os.environ), then `overrides` on top. `need_secret=False`: for tools
    that sign nothing (`leaderboard status`), a missing JWT_SECRET_KEY stays empty instead of refusing."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(Settings):
        if spec.name == "extra":
            continue
        if spec.name in overrides:
            raw = overrides.pop(spec.name)
        elif spec.name in environ:
            raw = environ[spec.name]
        else:
            raw = spec.default
        values[spec.name] = _convert(spec.name, raw, spec.type)
    values["LOG_LEVEL"] = str(values["LOG_LEVEL"]).upper()
    _validate(values)
    if not values["JWT_SECRET_KEY"] and need_secret:
        if not values["DEV_MODE"]:
            raise ConfigError(
                "JWT_SECRET_KEY is not set. Set it (e.g. `python -c 'import secrets;print(secrets.token_urlsafe(48))'`)"
                " or run in dev mode with DEV_MODE=1, which keeps a generated secret under DATA_DIR. (Commands run from"
                " the project directory while `make run` is up use its stack by themselves.)"
            )
        values["JWT_SECRET_KEY"] = _dev_secret(Path(values["DATA_DIR"]))
    elif values["JWT_SECRET_KEY"] and len(values["JWT_SECRET_KEY"]) < 32:
        raise ConfigError("JWT_SECRET_KEY must be at least 32 characters")
    return Settings(**values, extra=overrides)

"""The ops views: liveness (/health), readiness (/ready) and the Prometheus metrics (/metrics).

/ready runs the app's ReadyChecks (readiness.py), filled by `create_app`; `add_ready_check(app, name, check)`
adds one.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from .. import metrics
from ..api_errors import ApiError
from ..context import current_settings
from ..http import json_response
from ..jobs import status as job_status
from ..readiness import ReadyCheck, ReadyChecks
from ..redis_conn import health_redis
from ..version import __version__

bp = Blueprint("health", __name__)

READY_CHECKS_KEY = "leaderboard.ready_checks"  # app.extensions key of the app's ReadyChecks


def ready_checks(app: Flask) -> ReadyChecks:
    checks: ReadyChecks = app.extensions.setdefault(READY_CHECKS_KEY, ReadyChecks())
    return checks


def add_ready_check(app: Flask, name: str, check: ReadyCheck) -> None:
    ready_checks(app).add(name, check)


def redis_check() -> dict[str, Any]:
    """PING with REDIS_HEALTH_TIMEOUT (redis_conn.health_redis). Checks that read Redis themselves use the
    same client and skip their read when this one failed (`redis_reachable()`), so /ready answers within
    about one timeout however Redis fails."""
    started = time.perf_counter()
    try:
        health_redis().ping()
    except RedisError as exc:
        metrics.REDIS_ERRORS.labels("health").inc()
        g.redis_unreachable = True
        return {"ok": False, "reason": f"redis unreachable: {exc.__class__.__name__}"}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}


def redis_reachable() -> bool:
    """False when this /ready request's PING already failed."""
    return not g.get("redis_unreachable", False)


def scheduler_check() -> dict[str, Any]:
    """The jobs' states, read with /ready's bounded client, and not at all when /ready's PING failed (a stalled
    Redis would cost a second timeout)."""
    if not redis_reachable():
        return {"ok": True, "jobs": "unknown", "reason": "redis unreachable"}
    return job_status.scheduler_check(health_redis())


@bp.get("/health")
def health() -> Any:
    """Liveness: the process answers.
    ---
    tags: [ops]
    """
    return json_response({"status": "ok", "version": __version__})


@bp.get("/ready")
def ready() -> Any:
    """Readiness: Redis reachable and every component healthy; 503 names what is not.
    ---
    tags: [ops]
    """
    report = ready_checks(current_app).run()
    return json_response(report, 200 if report["status"] == "ok" else 503)


@bp.get("/metrics")
def metrics_view() -> Any:
    """Prometheus metrics (text exposition format). Needs `Authorization: Bearer METRICS_TOKEN`; without a
    METRICS_TOKEN it is closed (403) outside dev mode.
    ---
    tags: [ops]
    """
    settings = current_settings()
    if not settings.METRICS_TOKEN and not settings.DEV_MODE:
        raise ApiError(403, "metrics_token_required", "Metrics are closed: set METRICS_TOKEN (and scrape with it as a "
                       "bearer token), or scrape a scheduler/consumer's METRICS_BIND.")
    if not metrics.scrape_authorized(request.headers.get("Authorization", ""), settings.METRICS_TOKEN):
        raise ApiError(401, "unauthorized", "Metrics need the metrics bearer token.")
    return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

"""Liveness and readiness.

Other parts of the service add readiness checks with `add_ready_check(app, name, check)`: a check returns
a dict with at least {"ok": bool}; any check not ok makes /ready answer 503 with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, g
from redis.exceptions import RedisError

from .. import __version__, metrics
from ..http import json_response
from ..redis_conn import health_redis

bp = Blueprint("health", __name__)

ReadyCheck = Callable[[], dict[str, Any]]
_CHECKS_KEY = "leaderboard.ready_checks"


def add_ready_check(app: Flask, name: str, check: ReadyCheck) -> None:
    app.extensions.setdefault(_CHECKS_KEY, {})[name] = check


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


@bp.get("/health")
def health() -> Any:
    """Liveness: the process answers.
    ---
    tags: [ops]
    responses:
      200:
        description: Alive
        content:
          application/json:
            schema:
              type: object
              properties:
                status: {type: string, example: ok}
                version: {type: string, example: 0.1.0}
    """
    return json_response({"status": "ok", "version": __version__})


@bp.get("/ready")
def ready() -> Any:
    """Readiness: Redis reachable and every component healthy; 503 names what is not.
    ---
    tags: [ops]
    responses:
      200:
        description: Ready
        content:
          application/json:
            schema:
              type: object
              properties:
                status: {type: string, example: ok}
                checks: {type: object, additionalProperties: true}
      503:
        description: Not ready; `checks` says why
        content:
          application/json:
            schema:
              type: object
              properties:
                status: {type: string, example: unavailable}
                checks: {type: object, additionalProperties: true}
    """
    checks = {"redis": redis_check()}
    for name, check in current_app.extensions.get(_CHECKS_KEY, {}).items():
        checks[name] = check()
    failing = [name for name, result in checks.items() if not result.get("ok")]
    status = 200 if not failing else 503
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["reason"] = "; ".join(f"{name}: {checks[name].get('reason', 'not ok')}" for name in failing)
    return json_response(body, status)

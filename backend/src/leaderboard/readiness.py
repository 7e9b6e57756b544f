"""Readiness checks, in a registry of their own: whoever builds a server (`create_app`, or a run loop: the
scheduler, the stream and Kafka consumers, served by metrics_server.py on METRICS_BIND) fills one with the
checks of the parts it runs, and its /ready runs them: one way to answer /ready in every process.

A check returns a dict with at least {"ok": bool} (and a "reason" when not ok); any check not ok makes the
process not ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

ReadyCheck = Callable[[], dict[str, Any]]


class ReadyChecks:
    def __init__(self) -> None:
        self._checks: dict[str, ReadyCheck] = {}

    def add(self, name: str, check: ReadyCheck) -> None:
        self._checks[name] = check

    def run(self) -> dict[str, Any]:
        """{"status": "ok"|"unavailable", "checks": {name: result}}, plus "reason" naming what is not ok."""
        checks = {name: check() for name, check in self._checks.items()}
        failing = [name for name, result in checks.items() if not result.get("ok")]
        report: dict[str, Any] = {"status": "unavailable" if failing else "ok", "checks": checks}
        if failing:
            report["reason"] = "; ".join(f"{name}: {checks[name].get('reason', 'not ok')}" for name in failing)
        return report


def redis_ping_check(client: Any) -> ReadyCheck:
    """A check that PINGs `client` (give it a short timeout: REDIS_HEALTH_TIMEOUT), for the run loops."""

    def check() -> dict[str, Any]:
        started = time.perf_counter()
        try:
            client.ping()
        except RedisError as exc:
            return {"ok": False, "reason": f"redis unreachable: {exc.__class__.__name__}"}
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}

    return check

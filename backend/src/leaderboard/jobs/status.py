"""The jobs' last state, for /ready (never failing it: lists are served live when no scheduler runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from redis.exceptions import RedisError

from .. import keys
from .tasks import JOBS

# job state fields (a Redis hash: all strings) -> their JSON type in /ready
_FIELD_TYPES: dict[str, Callable[[str], Any]] = {
    "ok": lambda raw: raw == "1", "duration_ms": float, "runs": int, "failures": int, "result": orjson.loads,
}


def _typed(field: str, raw: str) -> Any:
    try:
        return _FIELD_TYPES.get(field, str)(raw)
    except ValueError:  # written by another version: shown as stored
        return raw


def job_states(redis: Any) -> dict[str, dict[str, Any]]:
    """job -> {last_run_at, tick, owner (strings), ok (bool), duration_ms (number), runs, failures (integers),
    result (the job's JSON result)}; {} for a job that never ran."""
    pipe = redis.pipeline(transaction=False)
    for job in JOBS:
        pipe.hgetall(keys.job_state(job))
    states = pipe.execute()
    return {
        job: {k.decode(): _typed(k.decode(), v.decode()) for k, v in state.items()}
        for job, state in zip(JOBS, states, strict=True)
    }


def scheduler_check(redis: Any) -> dict[str, Any]:
    """{"ok": True, "jobs": {job: state}}; `jobs` is {} before any scheduler ran (never fails /ready: lists are
    served live when no scheduler runs)."""
    try:
        states = job_states(redis)
    except RedisError as exc:
        return {"ok": True, "jobs": "unknown", "reason": f"redis unreachable: {exc.__class__.__name__}"}
    return {"ok": True, "jobs": {job: state for job, state in states.items() if state}}

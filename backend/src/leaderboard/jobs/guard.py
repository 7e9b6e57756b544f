"""Run one tick of a job at most once across every scheduler process and host.

A run takes the job's lock (skip when another process holds it), skips when the tick's key says that tick
already ran, runs, marks the tick done, records the job's state, and releases the lock. A failed run leaves
the tick unmarked, so another scheduler (or the next try) may run it again: every task is idempotent.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from .. import defaults, keys
from ..clock import iso
from .lock import JobLock

log = logging.getLogger(__name__)
TICK_KEY_SECONDS = 2 * 24 * 3600  # a tick marker outlives the longest job period (daily) with room


def run_once(redis: Any, job: str, tick: str, now: datetime, task: Callable[[], Any], *,
             lock_ms: int = defaults.JOB_LOCK_SECONDS * 1000, tick_key_seconds: int = TICK_KEY_SECONDS,
             log_level: int = logging.INFO) -> str:
    """'ran', 'done-elsewhere' or 'locked' (another process is running this job). Task errors propagate
    after being recorded. A job that ticks often (the live ticker) passes a short lock, short-lived tick keys
    and a quieter log level."""
    lock = JobLock(redis, job, lock_ms)
    if not lock.acquire():
        return "locked"
    try:
        if redis.exists(keys.job_tick(job, tick)):
            return "done-elsewhere"
        started = time.perf_counter()
        try:
            result = task()
        except Exception as exc:
            _record(redis, job, tick, now, started, ok=False, result=f"{exc.__class__.__name__}: {exc}")
            raise
        redis.set(keys.job_tick(job, tick), iso(now), ex=tick_key_seconds)
        _record(redis, job, tick, now, started, ok=True, result=result, log_level=log_level)
        return "ran"
    finally:
        lock.release()


def _record(redis: Any, job: str, tick: str, now: datetime, started: float, ok: bool, result: Any,
            log_level: int = logging.INFO) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    pipe = redis.pipeline(transaction=False)
    pipe.hset(keys.job_state(job), mapping={
        "last_run_at": iso(now), "tick": tick, "duration_ms": duration_ms, "ok": int(ok),
        "result": orjson.dumps(result, default=str), "owner": owner,
    })
    pipe.hincrby(keys.job_state(job), "runs" if ok else "failures", 1)
    pipe.lpush(keys.job_runs(job), f"{tick} {owner}")
    pipe.ltrim(keys.job_runs(job), 0, defaults.JOB_RUNS_KEPT - 1)
    pipe.execute()
    log.log(log_level, "job ran",
            extra={"event": "job_ran", "job": job, "tick": tick, "ok": ok, "duration_ms": duration_ms})

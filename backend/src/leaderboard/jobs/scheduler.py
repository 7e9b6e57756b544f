"""The scheduler process (`leaderboard scheduler`): an APScheduler BlockingScheduler, never inside gunicorn;
beside it, in their own threads, the live ticker (live/ticker.py) unless LIVE_TICK_MS is 0, and the result
webhooks' sender (competitions/webhooks.py), so a slow receiver never delays a job.

Jobs fire at aligned instants (refresh at multiples of REFRESH_SECONDS since the epoch, windows at each UTC
hour, rollover ROLLOVER_DELAY_SECONDS after 00:00 UTC) so every scheduler process agrees on the ticks; refresh
and rollover also run once at start. Each run goes through `guard.run_once` (lock + per-tick key).
Signals as in rq: the first SIGTERM/SIGINT lets the current job finish and stops; a second exits at once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import RedisError

from .. import defaults, metrics
from ..clock import EPOCH, Clock, system_clock
from ..config import Settings
from ..metrics_server import serve_process_metrics
from ..ranking.boards import BoardRegistry
from ..readiness import ReadyChecks, redis_ping_check
from ..signals import stop_on_signals
from . import guard
from .status import scheduler_check
from .tasks import COMPETITIONS, REFRESH, ROLLOVER, TASKS, WINDOWS, tick_of

log = logging.getLogger(__name__)


_OUTCOMES = {"ran": "ok", "locked": "skipped_locked", "done-elsewhere": "skipped_done"}  # metric label values


def run_job(job: str, redis: Any, settings: Settings, clock: Clock = system_clock) -> str:
    """One guarded run of `job` at the clock's now (what the scheduler calls on each tick). Counted in
    leaderboard_job_runs by outcome; a run that did the work (or failed doing it) is timed too."""
    started = time.perf_counter()
    outcome = "error"
    try:
        now = clock()
        boards = list(BoardRegistry(redis).all().values())
        task = TASKS[job]
        tick = tick_of(job, now, settings.REFRESH_SECONDS, settings.COMPETITION_JOB_SECONDS)
        result = guard.run_once(redis, job, tick, now, lambda: task(redis, boards, now, settings))
        outcome = _OUTCOMES[result]
        return result
    except RedisError as exc:
        metrics.REDIS_ERRORS.labels("job").inc()
        log.warning("job failed: redis", extra={"event": "job_failed", "job": job, "error": repr(exc)})
        return "failed"
    finally:
        metrics.JOB_RUNS.labels(job, outcome).inc()
        if outcome in ("ok", "error"):
            metrics.JOB_DURATION.labels(job).observe(time.perf_counter() - started)


def _aligned_start(now: datetime, seconds: int) -> datetime:
    """The next instant that is a multiple of `seconds` since the epoch."""
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=math.ceil(elapsed / seconds) * seconds)


def build_scheduler(redis: Any, settings: Settings, clock: Clock = system_clock) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(1)},  # one job at a time: jobs never race each other here
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.REFRESH_SECONDS},
    )
    now = clock()

    def add(job: str, trigger: Any) -> None:
        scheduler.add_job(run_job, trigger, args=[job, redis, settings, clock], id=job, name=job)

    add(REFRESH, IntervalTrigger(seconds=settings.REFRESH_SECONDS,
                                 start_date=_aligned_start(now, settings.REFRESH_SECONDS), timezone="UTC"))
    add(WINDOWS, CronTrigger(minute=0, second=1, timezone="UTC"))
    add(COMPETITIONS, IntervalTrigger(seconds=settings.COMPETITION_JOB_SECONDS,
                                      start_date=_aligned_start(now, settings.COMPETITION_JOB_SECONDS), timezone="UTC"))
    add(ROLLOVER, CronTrigger(hour=0, minute=0, second=defaults.ROLLOVER_DELAY_SECONDS, timezone="UTC"))
    for job in (ROLLOVER, REFRESH):  # at start: catch up on a missed midnight, and have lists at once
        scheduler.add_job(run_job, "date", run_date=now, args=[job, redis, settings, clock], id=f"{job}-at-start")
    return scheduler


def run_scheduler(redis: Any, settings: Settings) -> int:
    """The process's run loop; returns the exit status."""
    scheduler = build_scheduler(redis, settings)
    stopper: list[threading.Thread] = []

    def stop_after_the_current_job() -> None:  # from a thread: shutdown waits for the job in hand
        thread = threading.Thread(target=_shutdown, args=(scheduler,), name="scheduler-stop", daemon=True)
        stopper.append(thread)
        thread.start()

    stop_on_signals("scheduler", on_stop=stop_after_the_current_job)
    stop_metrics = serve_process_metrics(settings.METRICS_BIND, settings.METRICS_TOKEN, ready_checks(settings)) \
        if settings.METRICS_BIND else None
    ticker = None
    if settings.LIVE_TICK_MS:  # the live tier's ticker: its own thread, so a long refresh never delays a tick
        from ..competitions.live import CompetitionLive
        from ..live.ticker import Ticker

        ticker = Ticker(redis, settings, sources=[CompetitionLive(redis, settings).tick])
        ticker.start()
    from ..competitions.webhooks import WebhookSender

    webhooks = WebhookSender(redis, settings)
    webhooks.start()
    log.info("scheduler started", extra={"event": "scheduler_started", "refresh_seconds": settings.REFRESH_SECONDS,
                                         "metrics_bind": settings.METRICS_BIND})
    try:
        if not stopper:  # a signal before start means: do not start
            scheduler.start()  # blocks until shutdown
    finally:
        if ticker is not None:
            ticker.stop()
        webhooks.stop()
        for thread in stopper:
            thread.join(timeout=defaults.SCHEDULER_STOP_TIMEOUT)
        if stop_metrics is not None:
            stop_metrics()
    log.info("scheduler stopped", extra={"event": "scheduler_stopped"})
    return 0


def ready_checks(settings: Settings) -> ReadyChecks:
    """The scheduler's /ready (on METRICS_BIND): Redis answers, and the jobs' last states (as on the API)."""
    from ..redis_client import connect

    health = connect(settings, timeout=defaults.REDIS_HEALTH_TIMEOUT)
    checks = ReadyChecks()
    checks.add("redis", redis_ping_check(health))
    checks.add("scheduler", lambda: scheduler_check(health))
    return checks


def _shutdown(scheduler: BlockingScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=True)  # waits for the running job, then wakes the main loop

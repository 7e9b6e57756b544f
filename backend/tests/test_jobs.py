"""Scheduler jobs: the lock and per-tick guard, job state in /ready (the API's and the scheduler's own on
METRICS_BIND), and two real scheduler processes running at once without double-running a tick."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from leaderboard import keys
from leaderboard.clock import iso
from leaderboard.jobs import guard, tasks
from leaderboard.jobs.lock import JobLock

from .helpers import NOON, metric_value, start_scheduler


def test_a_tick_runs_once_and_a_held_lock_skips(redis_client):
    runs = []
    assert guard.run_once(redis_client, "demo", "t1", NOON, lambda: runs.append(1)) == "ran"
    assert guard.run_once(redis_client, "demo", "t1", NOON, lambda: runs.append(2)) == "done-elsewhere"
    holder = JobLock(redis_client, "demo", 10_000)
    assert holder.acquire()
    assert guard.run_once(redis_client, "demo", "t2", NOON, lambda: runs.append(3)) == "locked"
    assert holder.release()
    assert guard.run_once(redis_client, "demo", "t2", NOON, lambda: runs.append(4)) == "ran"
    assert runs == [1, 4]
    state = redis_client.hgetall(keys.job_state("demo"))
    assert state[b"runs"] == b"2" and state[b"tick"] == b"t2" and state[b"ok"] == b"1"


def test_only_the_owner_releases_a_lock(redis_client):
    first, second = JobLock(redis_client, "demo", 10_000), JobLock(redis_client, "demo", 10_000)
    assert first.acquire() and not second.acquire()
    assert not second.release()
    assert redis_client.get(keys.job_lock("demo")) == first.token.encode()
    assert first.release() and redis_client.get(keys.job_lock("demo")) is None


def test_a_failed_run_is_recorded_and_its_tick_can_run_again(redis_client):
    def boom():
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError):
        guard.run_once(redis_client, "demo", "t1", NOON, boom)
    state = redis_client.hgetall(keys.job_state("demo"))
    assert state[b"ok"] == b"0" and b"broken" in state[b"result"] and state[b"failures"] == b"1"
    assert redis_client.get(keys.job_lock("demo")) is None
    assert guard.run_once(redis_client, "demo", "t1", NOON, lambda: "fine") == "ran"


def test_job_state_is_visible_in_ready(client, redis_client, app):
    from leaderboard.jobs.scheduler import run_job

    assert run_job(tasks.REFRESH, redis_client, app.config["SETTINGS"], lambda: NOON) == "ran"
    assert run_job(tasks.REFRESH, redis_client, app.config["SETTINGS"], lambda: NOON) == "done-elsewhere"
    ready = client.get("/ready").json
    refresh_state = ready["checks"]["scheduler"]["jobs"][tasks.REFRESH]
    assert refresh_state["last_run_at"] == iso(NOON) and refresh_state["runs"] == 1  # typed, not "1"
    assert refresh_state["ok"] is True and isinstance(refresh_state["duration_ms"], float)
    assert refresh_state["result"]["snapshots"] == 35
    assert redis_client.hexists(keys.snapshot("btc", "7d"), "json")


def test_job_runs_are_counted_by_outcome_and_timed(redis_client, app):
    from leaderboard import metrics
    from leaderboard.jobs.scheduler import run_job


    settings = app.config["SETTINGS"]

    def runs(outcome: str) -> float:
        return metric_value(metrics.exposition().decode(), "leaderboard_job_runs_total", job=tasks.REFRESH,
                            outcome=outcome)

    def timed() -> float:
        return metric_value(metrics.exposition().decode(), "leaderboard_job_duration_seconds_count", job=tasks.REFRESH)

    before = {outcome: runs(outcome) for outcome in ("ok", "skipped_done", "skipped_locked")}
    timed_before = timed()
    assert run_job(tasks.REFRESH, redis_client, settings, lambda: NOON) == "ran"
    assert run_job(tasks.REFRESH, redis_client, settings, lambda: NOON) == "done-elsewhere"
    holder = JobLock(redis_client, tasks.REFRESH, 10_000)
    assert holder.acquire()
    assert run_job(tasks.REFRESH, redis_client, settings, lambda: NOON) == "locked"
    assert holder.release()
    assert {outcome: runs(outcome) - before[outcome] for outcome in before} == {
        "ok": 1, "skipped_done": 1, "skipped_locked": 1}
    assert timed() - timed_before == 1  # only the run that did the work is timed


@pytest.mark.slow
def test_two_scheduler_processes_run_each_tick_once(redis_client, redis_url, tmp_path):
    import requests

    from leaderboard.embedded_redis import free_port

    port = free_port()
    first = start_scheduler(redis_url, tmp_path, METRICS_BIND=f"127.0.0.1:{port}", METRICS_TOKEN="t" * 32)
    time.sleep(0.4)
    second = start_scheduler(redis_url, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and redis_client.llen(keys.job_runs(tasks.REFRESH)) < 5:
            time.sleep(0.1)
        ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=5)  # the registry create_app fills too
    finally:
        for proc in (first, second):
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in (first, second)]
    assert codes == [0, 0]  # the first SIGTERM stops each scheduler cleanly
    runs = [r.decode().split() for r in redis_client.lrange(keys.job_runs(tasks.REFRESH), 0, -1)]
    ticks = Counter(tick for tick, _owner in runs)
    assert len(ticks) >= 5 and max(ticks.values()) == 1, ticks
    rollovers = redis_client.lrange(keys.job_runs(tasks.ROLLOVER), 0, -1)
    assert len(rollovers) == 1  # both ran it at start: only one did the work
    assert redis_client.get(keys.job_lock(tasks.REFRESH)) is None
    report = ready.json()
    assert ready.status_code == 200 and report["status"] == "ok", report
    assert report["checks"]["redis"]["ok"] and tasks.REFRESH in report["checks"]["scheduler"]["jobs"], report

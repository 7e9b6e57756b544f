"""The scheduler's jobs as plain, idempotent functions of (redis, boards, now, settings): tests and the
scheduler call the same code, and running one twice for the same `now` changes nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..clock import to_ms
from ..config import Settings
from ..ranking import snapshots, store
from ..ranking.boards import Board
from ..ranking.periods import PERIODS, ROLLING_HOURS, Period, day_bucket, hour_bucket

REFRESH = "refresh_snapshots"  # every REFRESH_SECONDS: materialize windows, snapshot every board x period
WINDOWS = "maintain_windows"  # at each UTC hour: windows drop the hour that left them, right away
ROLLOVER = "rollover"  # after 00:00 UTC: archive finished days, expire old buckets, the new day's snapshot
COMPETITIONS = "competitions"  # every COMPETITION_JOB_SECONDS: finalize ended competitions, schedule webhooks
JOBS = (REFRESH, WINDOWS, ROLLOVER, COMPETITIONS)


def tick_of(job: str, now: datetime, refresh_seconds: int, competition_seconds: int = 1) -> str:
    """The tick a run at `now` belongs to: one run per tick across every scheduler."""
    if job == REFRESH:
        return str(int(now.timestamp()) // refresh_seconds)
    if job == COMPETITIONS:
        return str(int(now.timestamp()) // competition_seconds)
    if job == WINDOWS:
        return hour_bucket(now).strftime("%Y%m%d%H")
    return day_bucket(now).isoformat()


def refresh_snapshots(redis: Any, boards: Iterable[Board], now: datetime, settings: Settings) -> dict[str, Any]:
    count = 0
    for board in boards:
        for period in PERIODS:
            snapshots.refresh(redis, board, period, now, settings.SNAPSHOT_TOP_N)
            count += 1
    return {"snapshots": count}


def maintain_windows(redis: Any, boards: Iterable[Board], now: datetime, settings: Settings) -> dict[str, Any]:
    count = 0
    for board in boards:
        for period in ROLLING_HOURS:
            snapshots.refresh(redis, board, period, now, settings.SNAPSHOT_TOP_N)  # materializes the window
            count += 1
    return {"windows": count}


def rollover(redis: Any, boards: Iterable[Board], now: datetime, settings: Settings) -> dict[str, Any]:
    """Archive every finished day still within HISTORY_DAYS (catches up after downtime), prune the history
    index, delete buckets past reach, and snapshot the new day so no worker serves yesterday's."""
    today = day_bucket(now)
    archived = pruned = expired = 0
    for board in boards:
        for days_back in range(1, settings.HISTORY_DAYS + 1):
            archived += store.archive_day(redis, board.id, today - timedelta(days=days_back), settings.HISTORY_DAYS)
        pruned += store.prune_history(redis, board.id, today, settings.HISTORY_DAYS)
        expired += store.expire_old_buckets(redis, board.id, now, settings.HISTORY_DAYS)
        snapshots.refresh(redis, board, Period.DAY, now, settings.SNAPSHOT_TOP_N)
    return {"archived": archived, "pruned": pruned, "expired_keys": expired}


def competitions(redis: Any, boards: Iterable[Board], now: datetime, settings: Settings) -> dict[str, Any]:
    """Finalize the competitions whose grace has passed (idempotent: SET NX of the frozen result) and schedule
    their result webhooks (competitions/finalize.py; the scheduler's webhook thread delivers them)."""
    from ..competitions.finalize import finalize_due
    from ..competitions.service import CompetitionRegistry

    registry = CompetitionRegistry(redis, settings.COMPETITION_CACHE_SECONDS)
    now_ms = to_ms(now)
    finalized = finalize_due(redis, registry, now_ms, int(settings.FINALIZE_GRACE_SECONDS * 1000))
    return {"finalized": finalized}


TASKS = {REFRESH: refresh_snapshots, WINDOWS: maintain_windows, ROLLOVER: rollover, COMPETITIONS: competitions}

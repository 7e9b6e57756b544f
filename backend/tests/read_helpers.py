"""Shared pieces of the read-path tests: a clock-controlled app, board lookup, a scheduler refresh."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from leaderboard.config import Settings
from leaderboard.jobs import tasks
from leaderboard.ranking.boards import Board, BoardRegistry


def _tomorrow_noon() -> datetime:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(12), UTC)


# The tests move a manual clock, but keep it near the real one: bucket sets carry an EXPIREAT that the real
# Redis counts on its own clock, so a fixed date would have them expire on write once it lies far enough back.
NOON = _tomorrow_noon()


def day_of_noon(offset: int = 0) -> str:
    """NOON's date shifted by `offset` days, as the API writes dates (YYYY-MM-DD)."""
    return (NOON.date() + timedelta(days=offset)).isoformat()


def midnight_after(days: int = 0) -> datetime:
    """The midnight that ends NOON's day, `days` later."""
    return datetime.combine(NOON.date() + timedelta(days=days + 1), time(0), UTC)


def settings_of(app: Any) -> Settings:
    return app.config["SETTINGS"]  # type: ignore[no-any-return]


def board(redis: Any, board_id: str) -> Board:
    found = BoardRegistry(redis).get(board_id)
    assert found is not None
    return found


def refresh(app: Any, redis: Any, now: datetime) -> None:
    """What the scheduler's refresh job does at `now`."""
    tasks.refresh_snapshots(redis, BoardRegistry(redis).all().values(), now, settings_of(app))


def read_cache_of(app: Any) -> Any:
    from leaderboard.api.params import READ_CACHE_KEY

    return app.extensions.get(READ_CACHE_KEY)

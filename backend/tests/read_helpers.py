"""Shared pieces of the read-path tests: a clock-controlled app, board lookup, a scheduler refresh."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leaderboard.config import Settings
from leaderboard.jobs import tasks
from leaderboard.ranking.boards import Board, BoardRegistry

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


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
    from leaderboard.read_cache import EXTENSION_KEY

    return app.extensions.get(EXTENSION_KEY)

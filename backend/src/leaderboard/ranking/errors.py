"""What the read side refuses, as exceptions of its own; `leaderboard.errors` maps each to its HTTP answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


class RankingError(Exception):
    """Base of the read side's refusals."""


class BoardNotFound(RankingError):
    def __init__(self, board_id: str) -> None:
        super().__init__(f"There is no board {board_id!r}.")
        self.board_id = board_id


class CursorInvalid(RankingError):
    """A cursor this service did not issue, or one of another board or period."""


class CursorExpired(RankingError):
    """The snapshot a cursor was cut from has been replaced (`as_of` is the one served now)."""

    def __init__(self, as_of: datetime) -> None:
        super().__init__("The list was refreshed since this cursor was issued; start again from the first page.")
        self.as_of = as_of


class HistoryNotFound(RankingError):
    def __init__(self, board_id: str, day: date, history_days: int, today: date) -> None:
        if day >= today:
            why = ("is not over yet: history holds finished days; today's board is "
                   f"GET /v1/leaderboards/{board_id}?period=day") if day == today else "is in the future"
            message = f"{day.isoformat()} {why}."
        elif (today - day).days > history_days:
            message = f"No archive of board {board_id!r} for {day.isoformat()}: archives are kept {history_days} days."
        else:
            message = f"No archive of board {board_id!r} for {day.isoformat()}: nothing was recorded on it that day."
        super().__init__(message)
        self.board_id = board_id
        self.day = day


class MemberNotFound(RankingError):
    def __init__(self, board_id: str, period: str, user_id: str) -> None:
        super().__init__(f"{user_id!r} has no score on board {board_id!r} for period {period!r}.")
        self.board_id = board_id
        self.period = period
        self.user_id = user_id


class StoreUnavailable(RankingError):
    """Redis is unreachable and no served copy is left; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("The leaderboard store is unreachable; try again shortly.")
        self.retry_after = retry_after


class ModerationError(RankingError):
    """A refused moderation action on a board: `kind` is not_found or conflict (mapped like competitions')."""

    def __init__(self, kind: str, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind, self.code, self.message, self.details = kind, code, message, details or {}

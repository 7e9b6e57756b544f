"""The client's answer to an error, with no web framework: `ApiError` (status, stable code, message, details,
headers) and `as_api_error`, the one mapping of the domain packages' exceptions (ranking/errors.py,
ingest/errors.py, competitions/errors.py) to it. Flask renders these through errors.py's handlers; the ASGI
push tier (live/stream.py, competitions/live.py) renders them itself.
"""

from __future__ import annotations

from typing import Any

from .clock import iso
from .competitions.errors import CompetitionError
from .ingest.errors import BufferFull, IngestDisabled
from .ranking.errors import (
    BoardNotFound,
    CursorExpired,
    CursorInvalid,
    HistoryNotFound,
    MemberNotFound,
    ModerationError,
    StoreUnavailable,
)


class ApiError(Exception):
    """An error the client should see (rendered by errors.py's handler under Flask)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def validation_error(message: str, **details: Any) -> ApiError:
    return ApiError(422, "validation_error", message, details)


_COMPETITION_STATUS = {"not_found": 404, "conflict": 409, "invalid": 422, "forbidden": 403}


def as_api_error(exc: Exception) -> ApiError | None:
    """The answer a client gets for `exc`: itself when an ApiError, the mapping of a domain exception, else
    None (an unexpected error: 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, BufferFull):
        return ApiError(503, "buffer_full", f"The write buffer is full ({exc}); retry later.",
                        headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, IngestDisabled):
        return ApiError(503, "ingest_disabled", "This server does not accept writes.",
                        headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, BoardNotFound):
        return ApiError(404, "board_not_found", f"There is no board {exc.board_id!r}; GET /v1/leaderboards lists "
                        "them.", {"board": exc.board_id})
    if isinstance(exc, CursorInvalid):
        return ApiError(400, "invalid_cursor", str(exc))
    if isinstance(exc, CursorExpired):
        return ApiError(410, "cursor_expired", str(exc), {"as_of": iso(exc.as_of)})
    if isinstance(exc, HistoryNotFound):
        return ApiError(404, "history_not_found", str(exc), {"date": exc.day.isoformat(), "board": exc.board_id})
    if isinstance(exc, MemberNotFound):
        return ApiError(404, "member_not_found", str(exc),
                        {"board": exc.board_id, "period": exc.period, "user_id": exc.user_id})
    if isinstance(exc, CompetitionError | ModerationError):
        return ApiError(_COMPETITION_STATUS[exc.kind], exc.code, exc.message, exc.details)
    if isinstance(exc, StoreUnavailable):
        return ApiError(503, "unavailable", str(exc), headers={"Retry-After": str(exc.retry_after)})
    return None

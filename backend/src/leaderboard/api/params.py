"""Query and path parameters of the read API, validated with a clear 4xx; and the app's board registry."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app, request

from ..api_errors import ApiError
from ..context import app_clock, current_settings
from ..ranking import cursor as cursors
from ..ranking.boards import Board, BoardRegistry
from ..ranking.cursor import Cursor
from ..ranking.periods import PERIODS, Period
from ..ranking.reads import Reads
from ..read_cache import ReadCache
from ..redis_conn import get_redis

MEMBER_ID_PATTERN = re.compile(r"^[^\s,/]{1,128}$")  # any printable id without spaces, commas or slashes
REGISTRY_KEY = "leaderboard.boards"  # app.extensions key of the board registry
READ_CACHE_KEY = "leaderboard.read_cache"  # app.extensions key of the process's read cache


def reads() -> Reads:
    """The read side for this request, at the app clock's now."""
    settings = current_settings()
    return Reads(get_redis(), get_read_cache(), app_clock()(), settings.HISTORY_DAYS,
                 timedelta(seconds=settings.CURSOR_TTL_SECONDS))


def get_read_cache() -> ReadCache:
    """This process's read cache for the current app, made on first use (never at import or app build)."""
    cache: ReadCache | None = current_app.extensions.get(READ_CACHE_KEY)
    if cache is None:
        settings = current_settings()
        cache = ReadCache(get_redis(), app_clock(), settings.REFRESH_SECONDS, settings.SNAPSHOT_TOP_N,
                          settings.MEMBER_CACHE_SECONDS)
        cache = current_app.extensions.setdefault(READ_CACHE_KEY, cache)  # two first requests keep one cache
    return cache


def get_boards() -> BoardRegistry:
    registry: BoardRegistry | None = current_app.extensions.get(REGISTRY_KEY)
    if registry is None:
        registry = current_app.extensions.setdefault(REGISTRY_KEY, BoardRegistry(get_redis()))
    return registry


def board_or_404(board_id: str) -> Board:
    return get_boards().require(board_id)


def period_arg(name: str = "period", default: str = "day") -> Period:
    raw = request.args.get(name, default)
    try:
        return Period(raw)
    except ValueError:
        allowed = [p.value for p in PERIODS]
        raise ApiError(400, "invalid_period", f"{name} must be one of {', '.join(allowed)}; got {raw!r}.",
                       {"allowed": allowed}) from None


def bounded_int_arg(name: str, default: int, maximum: int, code: str) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= maximum:
        raise ApiError(400, code, f"{name} must be an integer from 1 to {maximum}; got {raw!r}.",
                       {"min": 1, "max": maximum})
    return int(raw)


def limit_arg() -> int:
    settings = current_settings()
    return bounded_int_arg("limit", settings.DEFAULT_LIMIT, settings.MAX_LIMIT, "invalid_limit")


def cursor_arg(board: str, scope: str) -> Cursor | None:
    raw = request.args.get("cursor")
    return None if raw is None else cursors.decode(raw, board, scope)  # `cursor=` (empty) is not "no cursor"


def member_id(raw: str) -> str:
    if not MEMBER_ID_PATTERN.fullmatch(raw):
        raise ApiError(400, "invalid_member_id", "A member id is 1-128 characters without spaces, commas or "
                       "slashes.", {"user_id": raw[:140]})
    return raw


def member_ids_arg() -> list[str]:
    """`ids=a,b,c`: at least one, at most MAX_MEMBER_IDS, duplicates dropped (first kept)."""
    maximum = current_settings().MAX_MEMBER_IDS
    raw = request.args.get("ids", "")
    ids = [part for part in raw.split(",") if part]
    if not ids:
        raise ApiError(400, "invalid_ids", "ids must list at least one member id, comma-separated.")
    if len(ids) > maximum:
        raise ApiError(400, "too_many_ids", f"ids may list at most {maximum} members; got {len(ids)}.",
                       {"max": maximum})
    return list(dict.fromkeys(member_id(i) for i in ids))


def date_arg(raw: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_date", f"The date must be YYYY-MM-DD; got {raw!r}.") from None

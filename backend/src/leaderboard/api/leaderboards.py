"""Boards, symbols, top lists, member views, archives and the seed-003 score list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..api_errors import ApiError, validation_error
from ..auth.guards import roles_required
from ..context import current_settings
from ..http import json_response
from ..ranking import store
from ..ranking.boards import KINDS, SYMBOLS, Board, validate_board
from ..ranking.periods import Period
from .body import read_json_object
from .params import (
    board_or_404,
    bounded_int_arg,
    cursor_arg,
    date_arg,
    get_boards,
    limit_arg,
    member_id,
    member_ids_arg,
    period_arg,
    reads,
)

bp = Blueprint("leaderboards", __name__, url_prefix="/v1")

_SYMBOL_ORDER = list(SYMBOLS)


def _board_order(board: Board) -> tuple[int, int, str]:
    symbol_index = _SYMBOL_ORDER.index(board.symbol) if board.symbol in SYMBOLS else len(_SYMBOL_ORDER)
    return (KINDS.index(board.kind) if board.kind in KINDS else len(KINDS), symbol_index, board.id)


@bp.get("/leaderboards")
def list_boards() -> Any:
    """The declared boards: symbol volume boards first, then all-volume, then game boards.
    ---
    tags: [leaderboards]
    """
    boards = sorted(get_boards().all().values(), key=_board_order)
    return json_response({"boards": [b.to_json() for b in boards]})


@bp.post("/leaderboards")
@roles_required("admin")
def create_board() -> Any:
    """Declare a new board (admin).
    ---
    tags: [leaderboards]
    """
    body = read_json_object()
    try:
        board = validate_board(body)
    except ValueError as exc:
        raise validation_error(str(exc), field=str(exc).split(":", 1)[0]) from None
    if not get_boards().create(board):
        raise ApiError(409, "board_exists", f"A board {board.id!r} already exists.", {"board": board.id})
    return json_response(board.to_json(), 201)


@bp.get("/symbols")
def list_symbols() -> Any:
    """Tradable symbols with display names, icons and their board.
    ---
    tags: [leaderboards]
    """
    return json_response({"symbols": [s.to_json() for s in SYMBOLS.values()]})


@bp.get("/leaderboards/<board_id>")
def top_list(board_id: str) -> Any:
    """A page of a board's top list for a period, served from the snapshot refreshed every REFRESH_SECONDS.
    Competition ranks (1, 1, 3); inside a tie, member ids in descending byte order. Pages reach
    SNAPSHOT_TOP_N deep; `next_cursor` pins the snapshot (410 `cursor_expired` once it is replaced).
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    period = period_arg()
    limit = limit_arg()
    cursor = cursor_arg(board.id, period.value)
    if cursor is None:
        return Response(reads().first_page_json(board, period, limit), mimetype="application/json")
    return json_response(reads().top_page(board, period, limit, cursor))


@bp.get("/leaderboards/<board_id>/members/<user_id>")
def member_view(board_id: str, user_id: str) -> Any:
    """A member's rank, score, percentile and the period's total, live (micro-cached MEMBER_CACHE_SECONDS).
    Percentile = 100 * (total - rank + 1) / total.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    period = period_arg()
    return json_response(reads().member(board, period, member_id(user_id)))


@bp.get("/leaderboards/<board_id>/members/<user_id>/around")
def around_member(board_id: str, user_id: str) -> Any:
    """`size` rows around a member (centred; still `size` rows near the top or bottom), live.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    period = period_arg()
    settings = current_settings()
    size = bounded_int_arg("size", settings.DEFAULT_LIMIT, settings.MAX_LIMIT, "invalid_size")
    return json_response(reads().around(board, period, member_id(user_id), size))


@bp.get("/leaderboards/<board_id>/members")
def list_members(board_id: str) -> Any:
    """Ranks of a list of members (friends), best first; ids without a score come back in `missing`.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    period = period_arg()
    return json_response(reads().members(board, period, member_ids_arg()))


@bp.get("/leaderboards/<board_id>/history/<day>")
def history(board_id: str, day: str) -> Any:
    """A finished UTC day's board (kept HISTORY_DAYS), in the top-list shape with its `date`.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    parsed = date_arg(day)
    limit = limit_arg()
    cursor = cursor_arg(board.id, f"history:{parsed.isoformat()}")
    return json_response(reads().history_page(board, parsed, limit, cursor))


@bp.get("/scores")
def top_scores() -> Any:
    """Seed-003 shape: the top of a board as a bare list with numeric scores (default board `scores`, all time).
    ---
    tags: [leaderboards]
    """
    board = board_or_404(request.args.get("board", "scores"))
    period = period_arg(default=Period.ALL.value)
    _total, entries = reads().top_entries(board, period, limit_arg())
    return json_response([
        {"user_id": e.member, "user_name": e.name, "rank": e.rank, "score": store.major_number(e.score, board.decimals)}
        for e in entries
    ])

"""Boards, symbols, top lists, member views, archives and the seed-003 score list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..auth.guards import roles_required
from ..context import current_settings
from ..errors import ApiError, validation_error
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
    responses:
      200:
        description: Boards
        content:
          application/json:
            schema:
              type: object
              properties:
                boards:
                  type: array
                  items: {$ref: "#/components/schemas/Board"}
      503: {$ref: "#/components/responses/Unavailable"}
    """
    boards = sorted(get_boards().all().values(), key=_board_order)
    return json_response({"boards": [b.to_json() for b in boards]})


@bp.post("/leaderboards")
@roles_required("admin")
def create_board() -> Any:
    """Declare a new board (admin).
    ---
    tags: [leaderboards]
    security: [{bearerAuth: []}]
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [id]
            additionalProperties: false
            properties:
              id: {type: string, pattern: "^[a-z0-9][a-z0-9_-]{0,47}$", example: tournament-1}
              title: {type: string, maxLength: 80, example: Tournament 1}
              unit: {type: string, maxLength: 16, example: points}
              decimals: {type: integer, minimum: 0, maximum: 8, example: 0}
              mode: {type: string, enum: [sum, best], example: best}
    responses:
      201:
        description: Created
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Board"}
      400: {$ref: "#/components/responses/BadRequest"}
      401: {$ref: "#/components/responses/Unauthorized"}
      403: {$ref: "#/components/responses/Forbidden"}
      409: {$ref: "#/components/responses/Conflict"}
      415: {$ref: "#/components/responses/UnsupportedMediaType"}
      422: {$ref: "#/components/responses/ValidationError"}
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
    responses:
      200:
        description: Symbols
        content:
          application/json:
            schema:
              type: object
              properties:
                symbols:
                  type: array
                  items:
                    type: object
                    properties:
                      symbol: {type: string, example: BTC}
                      name: {type: string, example: Bitcoin}
                      slug: {type: string, example: bitcoin}
                      board: {type: string, example: btc}
                      icon: {type: string, example: /assets/icons/btc.svg}
                      price_decimals: {type: integer}
                      quantity_decimals: {type: integer}
    """
    return json_response({"symbols": [s.to_json() for s in SYMBOLS.values()]})


@bp.get("/leaderboards/<board_id>")
def top_list(board_id: str) -> Any:
    """A page of a board's top list for a period, served from the snapshot refreshed every REFRESH_SECONDS.
    Competition ranks (1, 1, 3); inside a tie, member ids in descending byte order. Pages reach
    SNAPSHOT_TOP_N deep; `next_cursor` pins the snapshot (410 `cursor_expired` once it is replaced).
    ---
    tags: [leaderboards]
    parameters:
      - {name: board_id, in: path, required: true, schema: {type: string}, example: btc}
      - {name: period, in: query, schema: {type: string, enum: [day, 24h, 3d, 7d, all], default: day}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
      - {name: cursor, in: query, schema: {type: string, pattern: "^[A-Za-z0-9_-]{1,512}$"},
         description: next_cursor of the previous page}
    responses:
      200:
        description: One page of the top list
        content:
          application/json:
            schema: {$ref: "#/components/schemas/TopList"}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      410: {$ref: "#/components/responses/Gone"}
      503: {$ref: "#/components/responses/Unavailable"}
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
    parameters:
      - {name: board_id, in: path, required: true, schema: {type: string}}
      - {name: user_id, in: path, required: true, schema: {type: string}}
      - {name: period, in: query, schema: {type: string, enum: [day, 24h, 3d, 7d, all], default: day}}
    responses:
      200:
        description: The member's place
        content:
          application/json:
            schema: {$ref: "#/components/schemas/MemberRank"}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/Unavailable"}
    """
    board = board_or_404(board_id)
    period = period_arg()
    return json_response(reads().member(board, period, member_id(user_id)))


@bp.get("/leaderboards/<board_id>/members/<user_id>/around")
def around_member(board_id: str, user_id: str) -> Any:
    """`size` rows around a member (centred; still `size` rows near the top or bottom), live.
    ---
    tags: [leaderboards]
    parameters:
      - {name: board_id, in: path, required: true, schema: {type: string}}
      - {name: user_id, in: path, required: true, schema: {type: string}}
      - {name: period, in: query, schema: {type: string, enum: [day, 24h, 3d, 7d, all], default: day}}
      - {name: size, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
    responses:
      200:
        description: Rows around the member
        content:
          application/json:
            schema:
              type: object
              properties:
                board: {type: string}
                period: {type: string}
                user_id: {type: string}
                entries: {type: array, items: {$ref: "#/components/schemas/RankedEntry"}}
                total: {type: integer}
                as_of: {type: string, format: date-time}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/Unavailable"}
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
    parameters:
      - {name: board_id, in: path, required: true, schema: {type: string}}
      - {name: ids, in: query, required: true, schema: {type: string, minLength: 1}, example: "alice,bob",
         description: "comma-separated member ids, at most MAX_MEMBER_IDS"}
      - {name: period, in: query, schema: {type: string, enum: [day, 24h, 3d, 7d, all], default: day}}
    responses:
      200:
        description: The members' places
        content:
          application/json:
            schema:
              type: object
              properties:
                board: {type: string}
                period: {type: string}
                entries: {type: array, items: {$ref: "#/components/schemas/RankedEntry"}}
                missing: {type: array, items: {type: string}}
                total: {type: integer}
                as_of: {type: string, format: date-time}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/Unavailable"}
    """
    board = board_or_404(board_id)
    period = period_arg()
    return json_response(reads().members(board, period, member_ids_arg()))


@bp.get("/leaderboards/<board_id>/history/<day>")
def history(board_id: str, day: str) -> Any:
    """A finished UTC day's board (kept HISTORY_DAYS), in the top-list shape with its `date`.
    ---
    tags: [leaderboards]
    parameters:
      - {name: board_id, in: path, required: true, schema: {type: string}}
      - {name: day, in: path, required: true, schema: {type: string, format: date}, example: "2026-11-21"}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
      - {name: cursor, in: query, schema: {type: string, pattern: "^[A-Za-z0-9_-]{1,512}$"}}
    responses:
      200:
        description: One page of the archived day
        content:
          application/json:
            schema: {$ref: "#/components/schemas/TopList"}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/Unavailable"}
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
    parameters:
      - {name: board, in: query, schema: {type: string, default: scores}}
      - {name: period, in: query, schema: {type: string, enum: [day, 24h, 3d, 7d, all], default: all}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
    responses:
      200:
        description: Top members
        content:
          application/json:
            schema:
              type: array
              items:
                type: object
                properties:
                  user_id: {type: string, example: "42"}
                  user_name: {type: string, example: Alice}
                  rank: {type: integer, example: 1}
                  score: {type: number, example: 100}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
      503: {$ref: "#/components/responses/Unavailable"}
    """
    board = board_or_404(request.args.get("board", "scores"))
    period = period_arg(default=Period.ALL.value)
    _total, entries = reads().top_entries(board, period, limit_arg())
    return json_response([
        {"user_id": e.member, "user_name": e.name, "rank": e.rank, "score": store.major_number(e.score, board.decimals)}
        for e in entries
    ])

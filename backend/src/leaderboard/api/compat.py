"""Seed-compatible read routes, so the seeds' clients keep working (their bugs are not copied).

- go-leader-board (seed 000): game `{gameId}` is the board `game-{gameId}` (a `best` board in points). The
  board must exist (POST /api/leaderboard/score creates it on a game's first score): an unknown game is a
  404, never an empty list. `window` is 24h, 3d, 7d, or all (the default); anything else is a 400, not the
  seed's silent fallback to all time. Numeric ids come back as JSON numbers, as the seed sends them.
- trading-leaderboard (seed 001): `/leaderboard/{symbol}` is the symbol's `day` board (the seed's board reset
  at midnight), symbol as ticker ("BTC", "btc") or the seed's slug ("bitcoin").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request

from .. import __version__
from ..errors import ApiError
from ..http import json_response
from ..ranking import store
from ..ranking.boards import BOARD_ID_PATTERN, SYMBOLS, Board
from ..ranking.periods import Period
from .params import board_or_404, limit_arg, member_id, reads

bp = Blueprint("compat", __name__)

WINDOWS = {"24h": Period.H24, "3d": Period.D3, "7d": Period.D7, "all": Period.ALL, "": Period.ALL}


def _game_board(game_id: str) -> Board:
    board_id = f"game-{game_id}"
    if not BOARD_ID_PATTERN.match(board_id):
        raise ApiError(404, "board_not_found", f"There is no game {game_id!r}.", {"game_id": game_id})
    return board_or_404(board_id)


def _window() -> tuple[str, Period]:
    raw = request.args.get("window", "")
    if raw not in WINDOWS:
        raise ApiError(400, "invalid_window", f"window must be one of 24h, 3d, 7d or all; got {raw!r}.",
                       {"allowed": ["24h", "3d", "7d", "all"]})
    return raw or "all", WINDOWS[raw]


def _seed_id(value: str) -> int | str:
    """The seed's clients send numeric ids: give them back as numbers."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else value


@bp.get("/api/leaderboard/top/<game_id>")
def game_top(game_id: str) -> Any:
    """Seed 000: top players of a game.
    ---
    tags: [compat]
    parameters:
      - {name: game_id, in: path, required: true, schema: {type: string}, example: "1"}
      - {name: limit, in: query, schema: {type: integer, default: 10}}
      - {name: window, in: query, schema: {type: string, enum: [24h, 3d, 7d, all]}}
    responses:
      200:
        description: Leaders
        content:
          application/json:
            schema:
              type: object
              properties:
                game_id: {type: integer, example: 1}
                leaders:
                  type: array
                  items:
                    type: object
                    properties:
                      user_id: {type: integer, example: 42}
                      score: {type: number, example: 1000}
                      rank: {type: integer, example: 1}
                total_players: {type: integer}
                window: {type: string, example: 24h}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
    """
    board = _game_board(game_id)
    label, period = _window()
    limit = limit_arg()
    total, entries = reads().top_entries(board, period, limit)
    return json_response({
        "game_id": _seed_id(game_id),
        "leaders": [
            {"user_id": _seed_id(e.member), "score": store.major_number(e.score, board.decimals), "rank": e.rank}
            for e in entries
        ],
        "total_players": total,
        "window": label,
    })


@bp.get("/api/leaderboard/rank/<game_id>/<user_id>")
def game_rank(game_id: str, user_id: str) -> Any:
    """Seed 000: a player's rank in a game (404 when the player has no score, not the seed's 200).
    ---
    tags: [compat]
    parameters:
      - {name: game_id, in: path, required: true, schema: {type: string}, example: "1"}
      - {name: user_id, in: path, required: true, schema: {type: string}, example: "42"}
      - {name: window, in: query, schema: {type: string, enum: [24h, 3d, 7d, all]}}
    responses:
      200:
        description: The player's place
        content:
          application/json:
            schema:
              type: object
              properties:
                game_id: {type: integer}
                user_id: {type: integer}
                score: {type: number}
                rank: {type: integer}
                percentile: {type: number}
                total_players: {type: integer}
                window: {type: string}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
    """
    board = _game_board(game_id)
    label, period = _window()
    place, _name, _as_of = reads().member_place(board, period, member_id(user_id))
    return json_response({
        "game_id": _seed_id(game_id),
        "user_id": _seed_id(user_id),
        "score": store.major_number(place.score, board.decimals),
        "rank": place.rank,
        "percentile": place.percentile,
        "total_players": place.total,
        "window": label,
    })


@bp.get("/api/health")
def seed_health() -> Any:
    """Seed 000: health.
    ---
    tags: [compat]
    responses:
      200:
        description: Alive
        content:
          application/json:
            schema:
              type: object
              properties:
                status: {type: string, example: ok}
                version: {type: string}
                timestamp: {type: string, format: date-time}
    """
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return json_response({"status": "ok", "version": __version__, "timestamp": now})


@bp.get("/leaderboard/<symbol>")
def symbol_top(symbol: str) -> Any:
    """Seed 001: today's volume leaders of a symbol (ticker or the seed's slug).
    ---
    tags: [compat]
    parameters:
      - {name: symbol, in: path, required: true, schema: {type: string}, example: bitcoin}
      - {name: limit, in: query, schema: {type: integer, default: 10}}
    responses:
      200:
        description: Leaders
        content:
          application/json:
            schema:
              type: array
              items:
                type: object
                properties:
                  traderId: {type: string, example: brave-otter}
                  totalVolume: {type: number, example: 12345.67}
                  rank: {type: integer, example: 1}
      400: {$ref: "#/components/responses/BadRequest"}
      404: {$ref: "#/components/responses/NotFound"}
    """
    found = SYMBOLS.get(symbol.upper()) or next((s for s in SYMBOLS.values() if s.slug == symbol.lower()), None)
    if found is None:
        raise ApiError(404, "symbol_not_found", f"There is no symbol {symbol!r}; GET /v1/symbols lists them.",
                       {"symbol": symbol})
    board = board_or_404(found.board)
    _total, entries = reads().top_entries(board, Period.DAY, limit_arg())
    return json_response([
        {"traderId": e.member, "totalVolume": store.major_number(e.score, board.decimals), "rank": e.rank}
        for e in entries
    ])

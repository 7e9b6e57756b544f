"""Seed-compatible routes, so the seeds' clients keep working (their bugs are not copied).

- go-leader-board (seed 000): game `{gameId}` is the board `game-{gameId}` (a `best` board in points). The
  board must exist (POST /api/leaderboard/score creates it on a game's first score): an unknown game is a
  404, never an empty list. `window` is 24h, 3d, 7d, or all (the default); anything else is a 400, not the
  seed's silent fallback to all time. Numeric ids come back as JSON numbers, as the seed sends them.
- `POST /api/leaderboard/score` (service or admin token) `{game_id, user_id, score, timestamp}`: best-score
  semantics on `game-{game_id}`, created as a `best` points board on the game's first score. The seed answered
  200 even when it dropped a score; we answer 200 `{"accepted": 1}` only once the score is in the WAL, and a
  4xx/503 otherwise. A best score is idempotent, and the write id is derived from the whole payload, so a
  client retry counts once.
- trading-leaderboard (seed 001): `/leaderboard/{symbol}` is the symbol's `day` board (the seed's board reset
  at midnight), symbol as ticker ("BTC", "btc") or the seed's slug ("bitcoin").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request

from ..api_errors import ApiError, validation_error
from ..auth.guards import roles_required
from ..config import Settings
from ..context import app_clock, current_settings
from ..extensions import write_rate_limited
from ..http import json_response
from ..ingest.validation import InvalidWrite, parse_event_time, parse_score, validate_id
from ..ingest.writes import Write, score_write
from ..ranking import store
from ..ranking.boards import BOARD_ID_PATTERN, SYMBOLS, Board
from ..ranking.periods import Period
from ..ranking.reads import Reads
from ..version import __version__
from . import write_path
from .body import read_json_object
from .params import board_or_404, get_boards, limit_arg, member_id, reads
from .trades import count_rejected

bp = Blueprint("compat", __name__)

WINDOWS = {"24h": Period.H24, "3d": Period.D3, "7d": Period.D7, "all": Period.ALL}


def _game_board(game_id: str) -> Board:
    board_id = f"game-{game_id}"
    if not BOARD_ID_PATTERN.fullmatch(board_id):
        raise ApiError(404, "board_not_found", f"There is no game {game_id!r}.", {"game_id": game_id})
    return board_or_404(board_id)


def _game_board_for_write(game_id: str) -> Board:
    """The game's board, declared on its first score (a `best` board in points)."""
    board_id = f"game-{game_id}"
    if not BOARD_ID_PATTERN.fullmatch(board_id):
        raise validation_error("game_id: 1-43 characters of a-z, 0-9, '_' or '-'", field="game_id")
    registry = get_boards()
    board = registry.get(board_id)
    if board is None:
        registry.create(Board(board_id, f"Game {game_id}", "points", 0, "best", "game"))
        board = registry.get(board_id)
        assert board is not None
    return board


def _seed_value(body: dict[str, Any], field: str) -> str:
    """The seed sends ids as numbers or strings; members are their string form."""
    value = body.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidWrite(field, "must be a non-negative integer or an id string")
        value = str(value)
    return validate_id(value, field)


SCORE_ROLES = ("service", "admin")


@bp.post("/api/leaderboard/score")
@roles_required(*SCORE_ROLES)
@write_rate_limited
def game_score() -> Any:
    """Submit a game score (go-leader-board shape); a member keeps its best score per game.
    ---
    tags: [compat]
    """
    try:
        accept_game_score()
    except Exception as exc:
        count_rejected(exc)
        raise
    return json_response({"accepted": 1})


def accept_game_score() -> None:
    """Validate a seed-shaped score and hand it to the write path (its board is declared on first use)."""
    write_path.submit([game_score_write(read_json_object(SCORE_FIELDS), current_settings(), app_clock()(),
                                        _game_board_for_write)])


SCORE_FIELDS = {"game_id", "user_id", "score", "timestamp"}


def game_score_write(body: dict[str, Any], settings: Settings, now: datetime,
                     game_board: Callable[[str], Board]) -> Write:
    """The write of a seed-shaped score body (a JSON object of SCORE_FIELDS only); ApiError (422) when it is
    invalid. `game_board(game_id)` gives the game's board (the view declares it on a game's first score; the
    native path, api/native_trades.py, only looks it up)."""
    try:
        for name in ("game_id", "user_id", "score"):
            if name not in body:
                raise InvalidWrite(name, "is required")
        game_id = _seed_value(body, "game_id")
        user_id = _seed_value(body, "user_id")
        score = parse_score(body["score"], settings.MAX_SCORE)
        if "timestamp" in body and body["timestamp"] is None:
            raise InvalidWrite("timestamp", "must be an ISO-8601 time; leave it out for now")
        ts_ms = parse_event_time(body.get("timestamp"), now, settings.MAX_FUTURE_SKEW_SECONDS, "timestamp")
    except InvalidWrite as exc:
        raise validation_error(str(exc), **exc.details()) from None
    board = game_board(game_id)
    write_id = "glb:" + hashlib.sha256(f"{board.id}|{user_id}|{score}|{ts_ms}".encode()).hexdigest()[:32]
    return score_write(board, user_id, score, write_id, datetime.fromtimestamp(ts_ms / 1000, UTC))


def _window() -> tuple[str, Period]:
    raw = request.args.get("window", "all")  # absent: all time; present but empty is refused like any other
    if raw not in WINDOWS:
        raise ApiError(400, "invalid_window", f"window must be one of 24h, 3d, 7d or all; got {raw!r}.",
                       {"allowed": ["24h", "3d", "7d", "all"]})
    return raw, WINDOWS[raw]


def _seed_id(value: str) -> int | str:
    """The seed's clients send numeric ids: give them back as numbers."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else value


@bp.get("/api/leaderboard/top/<game_id>")
def game_top(game_id: str) -> Any:
    """Seed 000: top players of a game.
    ---
    tags: [compat]
    """
    board = _game_board(game_id)
    label, period = _window()
    return json_response(game_top_payload(reads(), board, game_id, label, period, limit_arg()))


def game_top_payload(reads: Reads, board: Board, game_id: str, label: str, period: Period,
                     limit: int) -> dict[str, Any]:
    """The body of GET /api/leaderboard/top/<game_id> (the view and api/native_reads.py build it here)."""
    total, entries = reads.top_entries(board, period, limit)
    return {
        "game_id": _seed_id(game_id),
        "leaders": [
            {"user_id": _seed_id(e.member), "score": store.major_number(e.score, board.decimals), "rank": e.rank}
            for e in entries
        ],
        "total_players": total,
        "window": label,
    }


@bp.get("/api/leaderboard/rank/<game_id>/<user_id>")
def game_rank(game_id: str, user_id: str) -> Any:
    """Seed 000: a player's rank in a game (404 when the player has no score, not the seed's 200).
    ---
    tags: [compat]
    """
    board = _game_board(game_id)
    label, period = _window()
    return json_response(game_rank_payload(reads(), board, game_id, member_id(user_id), label, period))


def game_rank_payload(reads: Reads, board: Board, game_id: str, user_id: str, label: str,
                      period: Period) -> dict[str, Any]:
    """The body of GET /api/leaderboard/rank/<game_id>/<user_id> (the view and api/native_reads.py)."""
    place, _name, _as_of = reads.member_place(board, period, user_id)
    return {
        "game_id": _seed_id(game_id),
        "user_id": _seed_id(user_id),
        "score": store.major_number(place.score, board.decimals),
        "rank": place.rank,
        "percentile": place.percentile,
        "total_players": place.total,
        "window": label,
    }


@bp.get("/api/health")
def seed_health() -> Any:
    """Seed 000: health.
    ---
    tags: [compat]
    """
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return json_response({"status": "ok", "version": __version__, "timestamp": now})


@bp.get("/leaderboard/<symbol>")
def symbol_top(symbol: str) -> Any:
    """Seed 001: today's volume leaders of a symbol (ticker or the seed's slug).
    ---
    tags: [compat]
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

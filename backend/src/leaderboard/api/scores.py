"""POST /v1/actions and POST /v1/scores: single-use actions and the game scores they allow."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint
from redis.exceptions import RedisError

from .. import defaults, metrics
from ..api_errors import ApiError, validation_error
from ..auth.guards import caller, can_post_for, roles_required
from ..context import current_settings
from ..extensions import write_rate_limited
from ..http import json_response
from ..ingest.actions import ActionStore
from ..ingest.errors import BufferFull, IngestDisabled
from ..ingest.validation import InvalidWrite, parse_score, validate_id
from ..ingest.writes import score_write
from ..ranking.boards import SCORES
from ..redis_conn import get_redis
from . import write_path
from .body import read_json_object
from .params import get_boards
from .trades import count_rejected

bp = Blueprint("scores", __name__, url_prefix="/v1")

_CONSUME_ERRORS = {
    "not_found": (404, "action_not_found", "No such action: ask POST /v1/actions for one."),
    "expired": (410, "action_expired", "This action has expired: ask POST /v1/actions for a new one."),
    "forbidden": (403, "forbidden", "This action belongs to another user."),
    "used": (409, "action_used", "This action was already used for another score: one action, one score "
             "(an exact retry of the same score is accepted and counts once)."),
}


def _actions() -> ActionStore:
    settings = current_settings()
    return ActionStore(get_redis(), settings.ACTION_TTL_SECONDS, defaults.ACTION_EXPIRED_GRACE_SECONDS,
                       settings.DEDUPE_WINDOW_SECONDS)


def _redis_unavailable() -> ApiError:
    metrics.REDIS_ERRORS.labels("actions").inc()
    return ApiError(503, "redis_unavailable", "Redis is unreachable; retry later.",
                    headers={"Retry-After": str(current_settings().RETRY_AFTER_SECONDS)})


@bp.post("/actions")
@roles_required()
@write_rate_limited
def create_action() -> Any:
    """Get a single-use action: the right to post one score before `expires_at`.
    ---
    tags: [writes]
    """
    username, _role = caller()
    try:
        action_id, expires_at = _actions().create(username)
    except RedisError:
        raise _redis_unavailable() from None
    return json_response({"action_id": action_id, "expires_at": expires_at.isoformat().replace("+00:00", "Z")}, 201)


@bp.post("/scores")
@roles_required()
@write_rate_limited
def post_score() -> Any:
    """Post a game score with an unused action of yours. `sum` boards add scores, `best` boards keep a
    member's best. A trader posts for itself; a service posts for anyone. An exact retry (same action, same
    score) is a 202 that counts once; the action with another score is a 409 `action_used`.
    ---
    tags: [writes]
    """
    try:
        accept_score()
    except Exception as exc:
        if isinstance(exc, ApiError) and exc.code == "action_used":  # one action, one score: another score on it
            metrics.TRADES_CONFLICT.labels("request").inc()
        count_rejected(exc)
        raise
    return json_response({"accepted": 1}, 202)


def accept_score() -> None:
    """Validate the body, consume its action and hand the score to the write path."""
    settings = current_settings()
    body = read_json_object({"user_id", "score", "action_id", "board"})
    try:
        for name in ("user_id", "score", "action_id"):
            if name not in body:
                raise InvalidWrite(name, "is required")
        user_id = validate_id(body["user_id"], "user_id")
        action_id = validate_id(body["action_id"], "action_id")
        score = parse_score(body["score"], settings.MAX_SCORE)
        board_id = body.get("board", SCORES)
        if not isinstance(board_id, str):
            raise InvalidWrite("board", "must be a board id")
    except InvalidWrite as exc:
        raise validation_error(str(exc), **exc.details()) from None
    if not can_post_for(user_id):
        raise ApiError(403, "forbidden", "A trader may post only its own scores (user_id must be you).",
                       {"field": "user_id"})
    username, role = caller()
    try:
        board = get_boards().get(board_id)
        if board is None:
            raise ApiError(404, "board_not_found", f"There is no board {board_id!r}.", {"field": "board"})
        if board.kind != "game":
            raise validation_error(f"board: {board_id!r} is a trading volume board; scores go to game boards.",
                                   field="board", reason="not a game board")
        write_path.current_ingest().ensure_room(1)
        actions = _actions()
        write = score_write(board, user_id, score, write_id=action_id)
        outcome = actions.consume(action_id, username, privileged=role in ("service", "admin"), fp=write.fp)
    except RedisError:
        raise _redis_unavailable() from None
    if outcome not in ("ok", "retry"):
        status, code, message = _CONSUME_ERRORS[outcome]
        raise ApiError(status, code, message, {"field": "action_id"})
    try:
        write_path.submit([write])  # a retry is submitted again: its marker makes it count once
    except (BufferFull, IngestDisabled):
        if outcome == "ok":
            with contextlib.suppress(RedisError):  # if Redis is gone too, the client asks for a new action
                actions.give_back(action_id)
        raise


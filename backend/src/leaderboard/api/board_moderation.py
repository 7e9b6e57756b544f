"""Moderation of ordinary boards (admin): disqualify a member (it leaves every read of the board, the others
move up), reinstate it (its scores come back exactly), and the audit trail. Domain: ranking/moderation.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth.guards import caller, roles_required
from ..clock import iso
from ..context import app_clock, current_settings
from ..http import json_response
from ..ranking import moderation
from ..redis_conn import get_redis
from .competitions import disqualification_request
from .params import board_or_404, get_read_cache, member_id

bp = Blueprint("board_moderation", __name__, url_prefix="/v1")


@bp.post("/leaderboards/<board_id>/disqualifications")
@roles_required("admin")
def disqualify(board_id: str) -> Any:
    """Disqualify a member from a board (admin): it leaves every list, rank, snapshot and archive of the board
    at once and the others move up; its scores are kept, so reinstating restores them exactly.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    user_id, reason = disqualification_request()
    admin, _role = caller()
    now = app_clock()()
    entry = moderation.disqualify(get_redis(), board, user_id, reason, admin, now, iso(now),
                                  current_settings().SNAPSHOT_TOP_N)
    get_read_cache().clear()  # this process at once; the others when the live ticker publishes the new snapshots
    return json_response(entry, 201)


@bp.delete("/leaderboards/<board_id>/disqualifications/<user_id>")
@roles_required("admin")
def reinstate(board_id: str, user_id: str) -> Any:
    """Reinstate a member disqualified from a board (admin): its scores rank again, exactly as they are.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    admin, _role = caller()
    now = app_clock()()
    entry = moderation.reinstate(get_redis(), board, member_id(user_id), admin, now, iso(now),
                                 current_settings().SNAPSHOT_TOP_N)
    get_read_cache().clear()
    return json_response(entry)


@bp.get("/leaderboards/<board_id>/audit")
@roles_required("admin")
def audit(board_id: str) -> Any:
    """The board's moderation audit trail (admin), oldest first.
    ---
    tags: [leaderboards]
    """
    board = board_or_404(board_id)
    return json_response({"board": board.id, "entries": moderation.audit_trail(get_redis(), board)})

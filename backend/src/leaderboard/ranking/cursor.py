"""Opaque page cursors: base64url of {board, period (or history date), snapshot as_of, offset, position}.

A top-list cursor carries the snapshot it was cut from (`as_of`, `offset`) and the position of the last row
it served (score, member). While that snapshot is the current one the next page starts at `offset`: pages of
one snapshot never skip or repeat a row. Once a newer snapshot replaced it (the live ticker does that every
LIVE_TICK_MS on a busy board) the next page starts right after that position in the newer snapshot, with the
ranks of the newer snapshot: a client keeps paging a board while it changes, and a row that crossed the
position between two pages may show twice or not at all (like any feed that moves while it is read). Such a
cursor follows newer snapshots for CURSOR_TTL_SECONDS after its own snapshot; past that, or on another UTC day
for `period=day` (the board reset), it is refused (CursorExpired: 410 `cursor_expired`: start again from page
one). History pages (a finished day, read live) page by offset.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from .. import defaults
from .errors import CursorInvalid

MAX_CURSOR_LENGTH = 512  # longer is never one of ours
MAX_MEMBER_LENGTH = 128  # the longest member id a board holds (api/params.MEMBER_ID_PATTERN)
NOT_OURS = "The cursor is not one this service issued."


@dataclass(frozen=True)
class Cursor:
    board: str
    scope: str  # the period, or "history:YYYY-MM-DD"
    as_of_ms: int | None  # the snapshot's as_of (None for live history pages)
    offset: int
    position: tuple[int, str] | None = None  # (score, member) of the last row served (top-list pages)

    def encode(self) -> str:
        fields: dict[str, object] = {"b": self.board, "s": self.scope, "a": self.as_of_ms, "o": self.offset}
        if self.position is not None:
            fields["p"] = list(self.position)
        return base64.urlsafe_b64encode(orjson.dumps(fields)).rstrip(b"=").decode()


def decode(token: str, board: str, scope: str) -> Cursor:
    """The cursor in `token`, which must belong to this board and scope; CursorInvalid otherwise."""
    if len(token) > MAX_CURSOR_LENGTH:
        raise CursorInvalid(NOT_OURS)
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(data["b"], data["s"], data["a"], data["o"], _position(data.get("p")))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise CursorInvalid(NOT_OURS) from None
    if cursor.board != board or cursor.scope != scope:
        raise CursorInvalid("The cursor belongs to another board or period; start from the first page.")
    # every decoded number is bounded before it reaches datetime or Redis (an offset near 2^63 was a 500)
    if not _int_within(cursor.offset, 0, defaults.MAX_CURSOR_OFFSET):
        raise CursorInvalid(NOT_OURS)
    if cursor.as_of_ms is not None and not _int_within(cursor.as_of_ms, 0, defaults.MAX_CURSOR_AS_OF_MS):
        raise CursorInvalid(NOT_OURS)
    return cursor


def _position(raw: object) -> tuple[int, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError("position")
    score, member = raw
    if not _int_within(score, -defaults.MAX_CURSOR_SCORE, defaults.MAX_CURSOR_SCORE):
        raise ValueError("score")
    if not isinstance(member, str) or not 0 < len(member) <= MAX_MEMBER_LENGTH:
        raise ValueError("member")
    return score, member


def _int_within(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

"""Opaque page cursors: base64url of {board, period (or history date), snapshot as_of, offset}.

A cursor pins the snapshot it was cut from: pages of one snapshot never skip or repeat a row. A cursor of a
snapshot that has since been replaced is refused (CursorExpired: 410 `cursor_expired`) (start again from page one).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from .. import defaults
from .errors import CursorInvalid

MAX_CURSOR_LENGTH = 512  # longer is never one of ours


@dataclass(frozen=True)
class Cursor:
    board: str
    scope: str  # the period, or "history:YYYY-MM-DD"
    as_of_ms: int | None  # the snapshot's as_of (None for live history pages)
    offset: int

    def encode(self) -> str:
        raw = orjson.dumps({"b": self.board, "s": self.scope, "a": self.as_of_ms, "o": self.offset})
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(token: str, board: str, scope: str) -> Cursor:
    """The cursor in `token`, which must belong to this board and scope; CursorInvalid otherwise."""
    if len(token) > MAX_CURSOR_LENGTH:
        raise CursorInvalid("The cursor is not one this service issued.")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(data["b"], data["s"], data["a"], data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise CursorInvalid("The cursor is not one this service issued.") from None
    if cursor.board != board or cursor.scope != scope:
        raise CursorInvalid("The cursor belongs to another board or period; start from the first page.")
    # every decoded number is bounded before it reaches datetime or Redis (an offset near 2^63 was a 500)
    if not _int_within(cursor.offset, 0, defaults.MAX_CURSOR_OFFSET):
        raise CursorInvalid("The cursor is not one this service issued.")
    if cursor.as_of_ms is not None and not _int_within(cursor.as_of_ms, 0, defaults.MAX_CURSOR_AS_OF_MS):
        raise CursorInvalid("The cursor is not one this service issued.")
    return cursor


def _int_within(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

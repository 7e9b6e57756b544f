"""User accounts in Redis: one JSON value per user, created atomically with SET NX.

Usernames are full-matched against USERNAME_PATTERN (no trailing newline slips through) and compare
case-insensitively: `Alice` cannot register when `alice` exists, and either spelling logs in to the one
account, whose token subject is the name as registered. The login limit keys on the lower-cased name too,
so the limit and the accounts agree on who "alice" is."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import orjson

from .. import defaults, keys
from .passwords import hash_password, verify_password

ROLES = ("trader", "service", "admin")
USERNAME_RE = re.compile(defaults.USERNAME_PATTERN)
DISPLAY_NAME_RE = re.compile(defaults.DISPLAY_NAME_PATTERN)


class UserError(ValueError):
    """Invalid user input; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str

    def to_json(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "role": self.role}


def validate_new_user(
    username: Any, password: Any, display_name: Any, role: Any, password_min_length: int
) -> tuple[str, str, str, str]:
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise UserError("username", "3-32 characters: letters, digits, '_', '.', '-', starting with a letter or digit")
    if not isinstance(password, str) or not password_min_length <= len(password) <= defaults.PASSWORD_MAX_LENGTH:
        raise UserError(
            "password", f"a string of {password_min_length} to {defaults.PASSWORD_MAX_LENGTH} characters"
        )
    if display_name is None:
        display_name = username
    if (
        not isinstance(display_name, str)
        or len(display_name) > defaults.DISPLAY_NAME_MAX_LENGTH
        or not DISPLAY_NAME_RE.fullmatch(display_name)
    ):
        raise UserError("display_name", f"1-{defaults.DISPLAY_NAME_MAX_LENGTH} characters, not only spaces; no "
                                        "control, zero-width, bidi or line separator characters")
    if role not in ROLES:
        raise UserError("role", f"one of {', '.join(ROLES)}")
    return username, password, display_name.strip(" "), role


class UserStore:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def create(self, username: str, password: str, display_name: str, role: str) -> User | None:
        """The new user, or None when the username is taken. Inputs must be validated first."""
        record = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "password_hash": hash_password(password),
            "created_at": int(time.time()),
        }
        if not self.redis.set(keys.user(username), orjson.dumps(record), nx=True):
            return None
        self.redis.hset(keys.display_names(), username, display_name)
        return User(username, display_name, role)

    def get(self, username: str) -> User | None:
        record = self._record(username)
        return None if record is None else User(record["username"], record["display_name"], record["role"])

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches; the same cost and answer whether or not the user exists."""
        record = self._record(username) if isinstance(username, str) and USERNAME_RE.fullmatch(username) else None
        if not verify_password(record["password_hash"] if record else None, password):
            return None
        assert record is not None
        return User(record["username"], record["display_name"], record["role"])

    def _record(self, username: str) -> dict[str, Any] | None:
        raw = self.redis.get(keys.user(username))
        if raw is None and username != username.lower():
            raw = self.redis.get(keys.user_exact_case(username))  # registered before the lower-cased keys
        return None if raw is None else orjson.loads(raw)

"""Token issue (flask-jwt-extended): the web edge of auth.

Every token carries `role`, `sid` (session id) and `gen` (the user's token generation) claims. Access and
refresh tokens of one login share the sid; a refresh keeps it. Revocation is auth/revocations.py's.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_jwt_extended import create_access_token, create_refresh_token

from .. import keys
from ..auth.users import User
from ..context import current_settings


def issue_tokens(user: User, sid: str | None = None, gen: int | None = None, redis: Any = None) -> dict[str, Any]:
    """A new access + refresh token pair. `sid`: the session (login) the pair belongs to, kept across
    refreshes (its family); `gen`: the user's token generation (read from `redis` when not given; 0 without
    it, which a "log out everywhere" since revokes: the safe side)."""
    settings = current_settings()
    if gen is None:
        gen = int(redis.get(keys.token_generation(user.username)) or 0) if redis is not None else 0
    claims = {"role": user.role, "sid": sid or uuid.uuid4().hex, "gen": gen}
    access = create_access_token(identity=user.username, additional_claims=claims)
    refresh = create_refresh_token(identity=user.username, additional_claims=claims)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": settings.ACCESS_TOKEN_MINUTES * 60,
    }

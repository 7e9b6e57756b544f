"""Decorators and helpers views use to know who is calling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from .. import defaults
from ..api_errors import ApiError
from ..extensions import REVOCATIONS_KEY, revocations
from ..library_internals import set_verified_jwt, verified_header_jwt
from .revocations import RevocationList

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """A valid access token whose role is one of `roles` (any role when none are given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_access_token()
            if roles and get_jwt().get("role") not in roles:
                raise ApiError(403, "forbidden", f"This needs the {' or '.join(roles)} role.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def caller() -> tuple[str, str]:
    """(username, role) of the verified token of this request."""
    claims = get_jwt()
    return claims["sub"], claims.get("role", "trader")


def can_post_for(user_id: str) -> bool:
    """A trader posts only for itself; service and admin accounts post for anyone."""
    return may_post_for(*caller(), user_id)


def may_post_for(username: str, role: str, user_id: str) -> bool:
    """can_post_for's rule, for a caller known without Flask (api/native_trades.py)."""
    return role in ("service", "admin") or username == user_id


class VerifiedTokens:
    """Access tokens this worker verified, by their exact text, so a client that sends the same token on every
    request pays for the signature check (flask-jwt-extended decodes a token several times per request) once.

    A hit is trusted only while the token has not expired (`exp`, checked on every request) and is not revoked:
    the revocation list is asked on every request, and it caches a "not revoked" answer no longer than
    REVOCATION_CACHE_SECONDS, so revocation keeps its stated bound. Bounded: past `max_entries` the oldest
    entries go first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._claims: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # token -> (claims, header)
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        found = self._claims.get(token)
        if found is None or found[0]["exp"] <= time.time():
            return None
        return found

    def put(self, token: str, claims: dict[str, Any], header: dict[str, Any]) -> None:
        with self._lock:
            while len(self._claims) >= self.max_entries:
                self._claims.pop(next(iter(self._claims)))
            self._claims[token] = (claims, header)


_VERIFIED_KEY = "leaderboard.verified_tokens"
_BEARER = "Bearer "


def _verified_tokens() -> VerifiedTokens:
    cache: VerifiedTokens | None = current_app.extensions.get(_VERIFIED_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(_VERIFIED_KEY, VerifiedTokens(defaults.TOKEN_CACHE_MAX_ENTRIES))
    return cache


def verified_access_claims(app: Any, token: str) -> tuple[dict[str, Any], RevocationList] | None:
    """(claims, the app's revocation list) of `token` when this worker verified it before (VerifiedTokens:
    signature, type access, not expired), whether or not the list's cached "not revoked" answer is still fresh;
    None when the token is unknown here (or the app has no revocation list yet)."""
    cache: VerifiedTokens | None = app.extensions.get(_VERIFIED_KEY)
    revocation_list: RevocationList | None = app.extensions.get(REVOCATIONS_KEY)
    hit = cache.get(token) if cache is not None and token else None
    if hit is None or revocation_list is None:
        return None
    return hit[0], revocation_list


def verify_access_token() -> None:
    """`verify_jwt_in_request()` for an access token in the Authorization header, through VerifiedTokens.
    Anything unusual (no or odd header, unknown, expired or revoked token) takes flask-jwt-extended's full
    path, which raises the errors its loaders turn into 401s."""
    header = request.headers.get("Authorization", "")
    token = header[len(_BEARER):] if header.startswith(_BEARER) else ""
    cache = _verified_tokens()
    hit = cache.get(token) if token else None
    if hit is not None and not revocations().is_revoked(hit[0]):
        set_verified_jwt(*hit)
        return
    verify_jwt_in_request()
    verified = verified_header_jwt()
    if token and verified is not None and verified[0].get("type") == "access":
        cache.put(token, *verified)

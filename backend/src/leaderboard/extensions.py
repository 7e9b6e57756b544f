"""Extensions, created unbound here and bound to an app in `create_app`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request
from flask_limiter import RateLimitExceeded
from redis.backoff import NoBackoff
from redis.retry import Retry

from .config import Settings
from .context import current_settings
from .errors import error_response
from .metrics import TRADES_REJECTED
from .rate_limiter import limiter
from .redis_conn import bounded_redis, get_redis

F = TypeVar("F", bound=Callable[..., Any])

jwt = JWTManager()


REVOCATIONS_KEY = "leaderboard.revocations"  # app.extensions key of the app's RevocationList


def revocations() -> Any:
    from .auth.revocations import RevocationList

    revocation_list = current_app.extensions.get(REVOCATIONS_KEY)
    if revocation_list is None:
        settings = current_settings()
        revocation_list = RevocationList(get_redis(), settings.REVOCATION_CACHE_SECONDS,
                                         settings.refresh_token_seconds, bounded_redis())
        current_app.extensions[REVOCATIONS_KEY] = revocation_list
    return revocation_list


def _unauthorized(message: str) -> Any:
    return error_response(401, "unauthorized", message)


def _init_jwt_callbacks() -> None:
    @jwt.unauthorized_loader
    def missing_token(reason: str) -> Any:
        return _unauthorized(f"Missing or malformed Authorization header: {reason}.")

    @jwt.invalid_token_loader
    def invalid_token(reason: str) -> Any:
        return _unauthorized(f"Invalid token: {reason}.")

    @jwt.expired_token_loader
    def expired_token(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return error_response(401, "token_expired", "The token has expired.")

    @jwt.revoked_token_loader
    def revoked_token(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return error_response(401, "token_revoked", "The token has been revoked.")

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        return bool(revocations().is_revoked(payload))

    @jwt.token_verification_loader
    def has_expiry(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        # every token we issue expires; one without `exp` (made with a leaked key, or by a tool) never would
        exp = payload.get("exp")
        return isinstance(exp, int) and not isinstance(exp, bool)

    @jwt.token_verification_failed_loader
    def no_expiry(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return _unauthorized("Invalid token: it has no expiry (exp).")

    @jwt.user_lookup_error_loader
    def user_missing(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return _unauthorized("The token's user no longer exists.")


_init_jwt_callbacks()


UNREADABLE_LOGIN_KEY = "user:<unreadable>"


def username_from_body() -> str:
    """Rate-limit key: the username a login is for, read by the view's own parser (api/body.read_json), so
    the key and the view always see the same username. Usernames compare case-insensitively (as at
    registration). A body without a string username, or one that cannot be read at all, counts against one
    fixed key: no error can skip the limit."""
    from .api.body import read_json

    try:
        body = read_json()
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            return "user:" + body["username"][:64].lower()
    except Exception:  # any failure counts against the fixed key, never skips the limit
        pass
    return UNREADABLE_LOGIN_KEY


def ratelimit_storage_uri(settings: Settings) -> str:
    """flask-limiter's storage: the service's Redis (`redis+cluster://` on a cluster), memory without one."""
    if not settings.REDIS_URL:
        return "memory://"
    if not settings.REDIS_CLUSTER:
        return settings.REDIS_URL
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(("redis+cluster", parts.netloc, "", "", ""))  # a cluster has no database number


def ratelimit_storage_options(settings: Settings) -> dict[str, Any]:
    """The Redis client options of flask-limiter's storage: a call waits at most RATELIMIT_REDIS_TIMEOUT_MS, in
    one attempt (its client would otherwise wait out a whole Redis stall, holding a login or a trader's trade
    for as long); past it flask-limiter counts in this process's memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED)
    until its Redis answers a check again, so the limits still hold and no later call waits on the stall."""
    if not settings.REDIS_URL:
        return {}
    timeout = settings.RATELIMIT_REDIS_TIMEOUT_MS / 1000
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}


def _write_limit() -> str:
    return str(current_settings().WRITE_RATE_LIMIT)


def _token_subject() -> str:
    return "account:" + str(get_jwt()["sub"])


def write_limit_applies(claims: dict[str, Any], settings: Settings) -> bool:
    """Whether the write limit counts this caller's request: roles in WRITE_RATE_LIMIT_EXEMPT_ROLES skip it
    (and so does every caller while RATELIMIT_ENABLED is off)."""
    return settings.RATELIMIT_ENABLED and claims.get("role", "trader") not in settings.WRITE_RATE_LIMIT_EXEMPT_ROLES


def write_rate_limited(view: F) -> F:
    """Per-account write limit (WRITE_RATE_LIMIT), keyed by the access token's subject: 429 + Retry-After.
    Roles in WRITE_RATE_LIMIT_EXEMPT_ROLES (service accounts by default) skip it without touching the
    limiter's storage. A refused request is counted in leaderboard_trades_rejected{reason="rate_limited"}.

    Put it under `@roles_required(...)` so the token is verified once; on its own it verifies the token."""
    # one budget per account shared by every write endpoint
    limited = limiter.shared_limit(_write_limit, "write", key_func=_token_subject)(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            claims = get_jwt()
        except RuntimeError:  # no verified token in this request yet
            verify_jwt_in_request()
            claims = get_jwt()
        if not write_limit_applies(claims, current_settings()):
            return view(*args, **kwargs)
        try:
            return limited(*args, **kwargs)
        except RateLimitExceeded:
            TRADES_REJECTED.labels("rate_limited").inc()
            raise

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    jwt.init_app(app)
    limiter.init_app(app)

"""Extensions, created unbound here and bound to an app in `create_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .errors import error_response
from .redis_conn import get_redis

jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def revocations() -> Any:
    from .auth.tokens import RevocationList

    revocation_list = current_app.extensions.get("leaderboard.revocations")
    if revocation_list is None:
        revocation_list = RevocationList(get_redis(), current_app.config["SETTINGS"].REVOCATION_CACHE_SECONDS)
        current_app.extensions["leaderboard.revocations"] = revocation_list
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

    @jwt.user_lookup_error_loader
    def user_missing(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return _unauthorized("The token's user no longer exists.")


_init_jwt_callbacks()


def username_from_body() -> str:
    """Rate-limit key: the username a login is for (the address when the body has none)."""
    body = request.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("username"), str):
        return "user:" + body["username"][:64].lower()
    return "addr:" + (get_remote_address() or "unknown")


def init_app(app: Flask) -> None:
    jwt.init_app(app)
    limiter.init_app(app)

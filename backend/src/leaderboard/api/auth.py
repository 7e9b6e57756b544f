"""Accounts and tokens: register, login, refresh (rotating), logout, me."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_jwt_extended import get_jwt, jwt_required

from ..api_errors import ApiError, validation_error
from ..auth.passwords import HashGate, HashingBusy
from ..auth.revocations import token_gen
from ..auth.users import UserError, UserStore, validate_new_user
from ..context import current_settings
from ..extensions import limiter, revocations, username_from_body
from ..http import json_response
from ..redis_conn import get_redis
from .body import read_json_object
from .tokens import issue_tokens

bp = Blueprint("auth", __name__, url_prefix="/v1")
HASH_GATE_KEY = "leaderboard.hash_gate"  # app.extensions key of the process's HashGate


def _users() -> UserStore:
    return UserStore(get_redis())


def _login_limit() -> str:
    return str(current_settings().LOGIN_RATE_LIMIT)


def _register_limit() -> str:
    return str(current_settings().REGISTER_RATE_LIMIT)


def _succeeded(response: Any) -> bool:
    return bool(response.status_code == 200)


def _hashing() -> Any:
    """A hashing slot of this process (auth/passwords.HashGate): 503 `login_busy` when none frees in time."""
    gate: HashGate | None = current_app.extensions.get(HASH_GATE_KEY)
    if gate is None:
        settings = current_settings()
        gate = current_app.extensions.setdefault(
            HASH_GATE_KEY, HashGate(settings.PASSWORD_HASH_CONCURRENCY, settings.PASSWORD_HASH_WAIT_MS / 1000))
    return gate.slot()


def _busy() -> ApiError:
    return ApiError(503, "login_busy", "Too many logins are being checked right now; retry in a second.",
                    headers={"Retry-After": "2"})  # kept as is by the limiter (library_internals.RouteLimiter)


def _failed(response: Any) -> bool:
    return bool(response.status_code in (401, 422))


@bp.post("/auth/register")
@limiter.limit(_register_limit)
def register() -> Any:
    """Create a trader account.
    ---
    tags: [auth]
    """
    settings = current_settings()
    if not settings.REGISTRATION_ENABLED:
        raise ApiError(403, "registration_disabled", "Registration is turned off on this server.")
    body = read_json_object({"username", "password", "display_name"})
    try:
        username, password, display_name, role = validate_new_user(
            body.get("username"), body.get("password"), body.get("display_name"), "trader",
            settings.PASSWORD_MIN_LENGTH,
        )
    except UserError as exc:
        raise validation_error(f"{exc.field}: {exc}", field=exc.field) from None
    try:
        with _hashing():
            user = _users().create(username, password, display_name, role)
    except HashingBusy:
        raise _busy() from None
    if user is None:
        raise ApiError(409, "username_taken", "That username is taken.", {"field": "username"})
    return json_response(user.to_json(), 201)


@bp.post("/login")
@limiter.limit(_login_limit, key_func=username_from_body, deduct_when=_failed)
@limiter.limit(lambda: str(current_settings().LOGIN_ADDRESS_RATE_LIMIT), deduct_when=_failed)
@limiter.limit(lambda: str(current_settings().LOGIN_SUCCESS_RATE_LIMIT), key_func=username_from_body,
               deduct_when=_succeeded, scope="login-success")
@limiter.limit(lambda: str(current_settings().LOGIN_SUCCESS_ADDRESS_RATE_LIMIT), deduct_when=_succeeded,
               scope="login-success-address")
def login() -> Any:
    """Log in with a username and password.
    ---
    tags: [auth]
    """
    body = read_json_object({"username", "password"})
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise validation_error("username and password must be strings.")
    try:
        with _hashing():
            user = _users().authenticate(username, password[:256])
    except HashingBusy:
        raise _busy() from None
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    return json_response(issue_tokens(user, redis=get_redis()))


@bp.post("/token/refresh")
@jwt_required(refresh=True)
def refresh() -> Any:
    """Trade a refresh token for a new access token and a new refresh token (the old one stops working).
    ---
    tags: [auth]
    """
    payload = get_jwt()
    if not revocations().consume_refresh(payload):
        raise ApiError(401, "token_revoked", "This refresh token was already used or revoked.")
    user = _users().get(payload["sub"])
    if user is None:
        raise ApiError(401, "unauthorized", "The token's user no longer exists.")
    return json_response(issue_tokens(user, sid=payload.get("sid"), gen=token_gen(payload)))


@bp.post("/logout")
@jwt_required()
def logout() -> Any:
    """Revoke the current access token and the refresh token of the same login; with `all=1`, every token
    of the account (log out everywhere: every device, and any stolen token).
    ---
    tags: [auth]
    """
    everywhere = request.args.get("all", "0")
    if everywhere not in ("0", "1"):
        raise ApiError(400, "invalid_parameter", "all must be 0 or 1.", {"field": "all"})
    payload = get_jwt()
    revocations().revoke_session(payload)
    if everywhere == "1":
        revocations().revoke_user(str(payload["sub"]))
    return json_response({"revoked": True, "all": everywhere == "1"})


@bp.get("/me")
@jwt_required()
def me() -> Any:
    """The account of the current token.
    ---
    tags: [auth]
    """
    user = _users().get(get_jwt()["sub"])
    if user is None:
        raise ApiError(401, "unauthorized", "The token's user no longer exists.")
    return json_response(user.to_json())

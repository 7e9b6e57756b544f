"""Messages a person can act on, for the errors werkzeug and flask-limiter raise (errors.py renders them):
a 429 says what was limited and when to retry, a 413 names the limit, a 404 on a path people guess points
to the right one."""

from __future__ import annotations

import time
from typing import Any

from flask import request

from .rate_limiter import limiter

# paths people try, and where the thing they want is
GUESSED_PATHS = {
    "/v1/auth/login": "POST /v1/login",
    "/v1/auth/logout": "POST /v1/logout",
    "/v1/auth/refresh": "POST /v1/token/refresh",
    "/v1/auth/token/refresh": "POST /v1/token/refresh",
    "/v1/auth/me": "GET /v1/me",
    "/v1/register": "POST /v1/auth/register",
}


def byte_size(count: int) -> str:
    """1048576 -> "1 MiB", 1536 -> "1.5 KiB", 900 -> "900 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.4g} {unit}"
    return f"{count} bytes"


def _what_was_limited(limit: Any) -> str:
    """Which budget a flask-limiter limit is, from the view it guards and what it is keyed by."""
    key_func = getattr(getattr(limit, "key_func", None), "__name__", "")
    if request.endpoint == "auth.login":
        return "failed logins for this username" if key_func == "username_from_body" else \
            "failed logins from this address"
    if request.endpoint == "auth.register":
        return "registrations from this address"
    if getattr(limit, "scope", None) == "write":
        return "writes by this account (trades and scores share it)"
    return "requests"


def too_many_requests(exc: Any) -> str:
    limit = getattr(exc, "limit", None)
    amount = str(getattr(limit, "limit", "") or exc.description or "a limit")
    message = f"Too many {_what_was_limited(limit)}: the limit is {amount}."
    current = limiter.current_limit
    if current is not None:
        seconds = max(1, int(current.reset_at - time.time()))  # as flask-limiter's Retry-After
        message += f" Try again in {seconds} s (Retry-After)."
    return message


def http_message(status: int, exc: Any, default: str) -> str:
    if status == 429:
        return too_many_requests(exc)
    if status == 413:
        from .context import current_settings

        limit = current_settings().MAX_CONTENT_LENGTH
        return (f"The request body is larger than the limit of {byte_size(limit)} ({limit:,} bytes, "
                "MAX_CONTENT_LENGTH); send less per request (a trade batch can be split).")
    if status == 404 and request.url_rule is None and request.path.rstrip("/") in GUESSED_PATHS:
        return f"There is no {request.path}: you want {GUESSED_PATHS[request.path.rstrip('/')]}."
    return default

"""Browser-facing hardening: security headers on every response and CORS only for configured origins."""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.exceptions import RequestURITooLarge

from .context import current_settings
from .security_headers import CONTENT_SECURITY_POLICY, POLICY_PARTS, SECURITY_HEADERS

_INLINE_SCRIPT = re.compile(rb"<script\b(?![^>]*\ssrc\s*=)[^>]*>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def html_policy(page: bytes) -> str:
    """The policy of one HTML page: CONTENT_SECURITY_POLICY plus the hash of each inline script in it."""
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
                     for body in _INLINE_SCRIPT.findall(page)})
    if not hashes:
        return CONTENT_SECURITY_POLICY
    return "; ".join(["script-src 'self' " + " ".join(hashes) if part.startswith("script-src") else part
                      for part in POLICY_PARTS])


# what a browser on another allowed origin may send and read
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
CORS_MAX_AGE_SECONDS = 600


_SECURITY_ITEMS = list(SECURITY_HEADERS.items())
_SECURITY_NAMES = frozenset(name.lower() for name in SECURITY_HEADERS)


def _add_security_headers(response: Response) -> Response:
    """Every security header the response does not set itself (one extend: this runs on every request)."""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        response.headers["Content-Security-Policy"] = html_policy(response.get_data())
    present = {name.lower() for name, _value in response.headers}
    if present.isdisjoint(_SECURITY_NAMES):
        response.headers.extend(_SECURITY_ITEMS)
    else:
        response.headers.extend([(name, value) for name, value in _SECURITY_ITEMS if name.lower() not in present])
    return response


def request_line_length(environ: dict[str, object]) -> int:
    """Bytes of "METHOD /path?query HTTP/1.1" as the client sent it (the WSGI strings are latin-1 bytes)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not isinstance(target, str):
        path, query = str(environ.get("PATH_INFO", "")), str(environ.get("QUERY_STRING", ""))
        target = f"{path}?{query}" if query else path
    return len(str(environ.get("REQUEST_METHOD", ""))) + len(target) + len(" HTTP/1.1") + 1


def _refuse_long_request_line() -> None:
    """MAX_REQUEST_LINE for every server: gunicorn refuses such a line itself, granian does not."""
    if request_line_length(request.environ) > current_settings().MAX_REQUEST_LINE:
        raise RequestURITooLarge("The request line (method, path and query) is too long.")


def init_app(app: Flask) -> None:
    app.before_request(_refuse_long_request_line)  # right after access's timing hook, before any other
    app.after_request(_add_security_headers)
    origins = list(app.config["SETTINGS"].CORS_ORIGINS)
    if origins:  # no origins configured: no CORS headers at all, so browsers keep the same-origin policy
        CORS(
            app,
            origins=origins,
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            max_age=CORS_MAX_AGE_SECONDS,
            supports_credentials=False,  # bearer tokens, never cookies
        )

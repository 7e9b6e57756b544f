"""What the answers made on the ASGI router's loop before Flask share (api/native_trades.py, native_reads.py):
the headers Flask's hooks give a JSON response, in Flask's order (content type and length, the security headers
security.py adds, then the request id access.py adds: Flask runs after_request hooks in reverse), the request id
rule, the request metric and access line, and the checks that send a request to Flask (a header given twice, an
Origin when CORS origins are set, a request line over MAX_REQUEST_LINE)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from flask import Flask

from .. import access
from ..access import REQUEST_ID_HEADER, request_id_for
from ..config import Settings
from ..security import SECURITY_HEADERS, request_line_length

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()
_SIZE = re.compile(r"[0-9]{1,9}")  # params.bounded_int_arg's form


def extra_headers(app: Flask) -> list[tuple[bytes, bytes]]:
    """The headers the app's hooks add to every answer (security headers, then the app's own), ASGI-encoded."""
    return [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in
            [*SECURITY_HEADERS.items(), *app.config.get("SWAGGER", {}).get("headers", [])]]


def json_headers(body: bytes, rid: str, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A JSON answer's response headers in Flask's order: type and length, `extra`, then the request id."""
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra,
            (_REQUEST_ID, rid.encode())]


def query_values(raw: str, allowed: set[str]) -> dict[str, str] | None:
    """The query's values when it is well formed and names only `allowed` parameters, each once; else None (the
    view decides)."""
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        return None
    values = dict(pairs)
    return values if len(values) == len(pairs) and set(values) <= allowed else None


def bounded_size(raw: str | None, default: int, maximum: int) -> int | None:
    """A size/limit as params.bounded_int_arg reads it (absent: `default`); None when it would refuse it."""
    if raw is None:
        return default
    return int(raw) if _SIZE.fullmatch(raw) and 1 <= int(raw) <= maximum else None


class NativeAnswers:
    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cors = bool(settings.CORS_ORIGINS)
        self.extra_headers = extra_headers(app)
        self.served = 0  # requests answered natively (tests, curiosity)

    def headers(self, scope: Message, wanted: frozenset[bytes]) -> dict[bytes, bytes] | None:
        """The `wanted` request headers (lower-case names), or None when the request is one for Flask: a wanted
        header given twice, an Origin while CORS origins are set, or a request line over MAX_REQUEST_LINE."""
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in wanted:
                if name in found:
                    return None  # the view decides what a header given twice means
                found[name] = value
            elif name == b"origin" and self.cors:
                return None
        line = request_line_length({"REQUEST_METHOD": scope["method"], "PATH_INFO": scope["path"],
                                    "QUERY_STRING": scope["query_string"].decode("latin1")})
        return found if line <= self.settings.MAX_REQUEST_LINE else None

    async def answer(self, send: Send, status: int, payload: Any, given_request_id: bytes, method: str,
                     route: str, path: str, started: float) -> None:
        """Send `payload` as the view's json_response would, then record the metric and the access line."""
        rid = request_id_for(given_request_id.decode("latin1"))
        body = orjson.dumps(payload)
        await send({"type": "http.response.start", "status": status,
                    "headers": json_headers(body, rid, self.extra_headers)})
        await send({"type": "http.response.body", "body": body})
        access.record(method, route, path, status, time.perf_counter() - started, rid, self.settings.ACCESS_LOG)
        self.served += 1

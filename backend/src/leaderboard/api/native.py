"""What the answers made on the ASGI router's loop before Flask share (api/native_trades.py, native_reads.py):
the headers Flask's hooks give a JSON response, in Flask's order (content type and length, the security headers
security.py adds, then the request id access.py adds: Flask runs after_request hooks in reverse), the request id
rule, the request metric and access line, and the checks that send a request to Flask (a header given twice, an
Origin when CORS origins are set, a request line over MAX_REQUEST_LINE)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from flask import Flask

from .. import access
from ..access import REQUEST_ID_HEADER, new_request_id, safe_request_id
from ..config import Settings
from ..security import SECURITY_HEADERS, request_line_length

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()


class NativeAnswers:
    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cors = bool(settings.CORS_ORIGINS)
        self.extra_headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in
                              [*SECURITY_HEADERS.items(), *app.config.get("SWAGGER", {}).get("headers", [])]]
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
        given = given_request_id.decode("latin1")
        rid = given if safe_request_id(given) else new_request_id()
        body = orjson.dumps(payload)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            *self.extra_headers, (_REQUEST_ID, rid.encode())]})
        await send({"type": "http.response.body", "body": body})
        access.record(method, route, path, status, time.perf_counter() - started, rid, self.settings.ACCESS_LOG)
        self.served += 1

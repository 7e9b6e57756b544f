"""One JSON error shape for every 4xx/5xx: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from .http import json_response

log = logging.getLogger(__name__)

# werkzeug's status codes mapped to our stable machine-readable codes
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the client should see, rendered by the one handler below."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def validation_error(message: str, **details: Any) -> ApiError:
    return ApiError(422, "validation_error", message, details)


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or {}}}, status)


def _handle_api_error(exc: ApiError) -> Response:
    response = error_response(exc.status, exc.code, exc.message, exc.details)
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    message = exc.description or exc.name
    if status == 405:
        message = "This method is not allowed on this resource."
    response = error_response(status, code, message)
    for name, value in exc.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    return response


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, RedisError):
        from .metrics import REDIS_ERRORS  # metrics imports this module

        REDIS_ERRORS.labels("request").inc()
    log.exception("unhandled error", extra={"event": "unhandled_error"})
    return error_response(500, "internal_error", "Internal server error.")


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)

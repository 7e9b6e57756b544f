"""One JSON error shape for every 4xx/5xx: {"error": {"code", "message", "details"}}: Flask's handlers.

Views raise `ApiError`; the domain packages raise their own exceptions (ranking/errors.py, ingest/errors.py, ...),
which `api_errors.as_api_error` maps to their HTTP answer, in one place that needs no web framework (the ASGI
push tier uses it too); here the handlers registered on the app render them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from . import metrics, wording
from .api_errors import ApiError, as_api_error
from .competitions.errors import CompetitionError
from .context import current_settings
from .http import json_response
from .ingest.errors import BufferFull, IngestDisabled
from .ranking.errors import RankingError

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


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or {}}}, status)


def _handle_error(exc: Exception) -> Response:
    error = as_api_error(exc)
    if error is None:
        return _handle_unexpected(exc)
    response = error_response(error.status, error.code, error.message, error.details)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    message = wording.http_message(status, exc, exc.description or exc.name)
    if status == 405:
        message = "This method is not allowed on this resource."
    response = error_response(status, code, message)
    for name, value in exc.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    if status == 413:
        # the rest of the body was never read: the connection cannot carry another request, so say so
        # (a client that reused it would see its next request fail)
        response.headers["Connection"] = "close"
    return response


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, RedisError):
        # Redis unreachable or failing where a view has no fallback (login, refresh, register, ...): the
        # service is unavailable, not broken: 503 with Retry-After, logged without a stack trace
        metrics.REDIS_ERRORS.labels("request").inc()
        log.warning("redis unavailable", extra={"event": "redis_unavailable", "error": exc.__class__.__name__})
        response = error_response(503, "redis_unavailable", "The data store is unreachable; retry shortly.")
        response.headers["Retry-After"] = str(current_settings().RETRY_AFTER_SECONDS)
        return response
    log.exception("unhandled error", extra={"event": "unhandled_error"})
    return error_response(500, "internal_error", "Internal server error.")


# the exceptions _handle_error renders: ours and the domain packages'
MAPPED_ERRORS: tuple[type[Exception], ...] = (ApiError, RankingError, BufferFull, IngestDisabled, CompetitionError)


def init_app(app: Flask) -> None:
    for error_class in MAPPED_ERRORS:
        app.register_error_handler(error_class, _handle_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)

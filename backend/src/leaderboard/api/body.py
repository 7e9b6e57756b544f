"""Strict JSON request bodies: one parser per body, parsed once per request.

Whatever reads the body (the view, the login limiter's key function) goes through `read_json` (orjson), so they
can never disagree about what a body says (a body that one parser reads one way and another parser
another way, or that makes one of them fail, was a way around the login limit). POST /v1/trades is the one
exception: its view takes the bytes (`read_raw`, the same 415 and 413) and decodes them itself with the trade
bodies' own parser (msgspec, ingest.validation.decode_trades); nothing reads that body with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..api_errors import ApiError, validation_error


def read_json() -> Any:
    """The request body parsed as JSON: 415 for another content type, 400 for malformed JSON (or nested
    deeper than orjson's 1024 levels). Parsed once per request; later calls get the same value or error."""
    parsed = g.get("_json_body")
    if parsed is None:
        parsed = g._json_body = _parse()
    if isinstance(parsed, Exception):
        raise parsed
    return parsed[0]


def read_raw() -> bytes:
    """The request body's bytes, for a view that decodes them with its own parser (and no other reader of the
    body): 415 for another content type, 413 over MAX_CONTENT_LENGTH, like `read_json`."""
    if request.mimetype != "application/json":
        raise _unsupported()
    return _body()


def bad_json(reason: str) -> ApiError:
    return ApiError(400, "bad_json", f"The body is not valid JSON: {reason}")


def _unsupported() -> ApiError:
    return ApiError(415, "unsupported_media_type", "Send the body as application/json.")


def _parse() -> tuple[Any] | ApiError | RequestEntityTooLarge:
    if request.mimetype != "application/json":
        return _unsupported()
    try:
        return (orjson.loads(_body()),)
    except RequestEntityTooLarge as exc:  # kept like the other errors: a second read would see the body's rest
        return exc
    except orjson.JSONDecodeError as exc:
        return bad_json(str(exc))


def _body() -> bytes:
    """The body, at most MAX_CONTENT_LENGTH bytes, else 413. A body with a Content-Length over the limit is
    refused by werkzeug before it is read; a chunked one (no length) werkzeug would cut at the limit without
    a word (and the cut JSON was a 400), so it is read here from the server's stream, one byte past the limit."""
    limit = request.max_content_length
    environ = request.environ
    # a stream that ends with the body: the servers say so (wsgi.input_terminated); a2wsgi (the ASGI front)
    # does not, but its input ends with the ASGI body too
    terminated = environ.get("wsgi.input_terminated") or "asgi.scope" in environ
    if request.content_length is None and limit is not None and terminated:
        raw: bytes = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise RequestEntityTooLarge()
        return raw
    return request.get_data(cache=False)


def read_json_object(allowed: set[str] | None = None) -> dict[str, Any]:
    """The body as a JSON object; 422 for a non-object or (when `allowed` is given) unknown fields."""
    body = read_json()
    if not isinstance(body, dict):
        raise validation_error("The body must be a JSON object.")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise validation_error(f"Unknown field(s): {', '.join(unknown)}.", fields=unknown)
    return body

"""Strict JSON request bodies."""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

from ..errors import ApiError, validation_error


def read_json() -> Any:
    """The request body parsed as JSON: 415 for another content type, 400 for malformed JSON."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"The body is not valid JSON: {exc}") from None


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

"""The competitions' refusals; `errors.as_api_error` maps them to HTTP (kind -> status)."""

from __future__ import annotations

from typing import Any


class CompetitionError(Exception):
    """A refusal the caller should see: `kind` is one of not_found, conflict, invalid, forbidden."""

    def __init__(self, kind: str, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.details = details or {}

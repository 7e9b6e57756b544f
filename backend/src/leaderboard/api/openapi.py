"""The OpenAPI document: its frame here (info, security scheme, shared schemas and error responses), the paths
in openapi.yaml; each view's docstring adds its summary, description and tags (flasgger merges the two)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flasgger import Swagger
from flask import Flask

from .. import defaults
from ..version import __version__
from .competition_schemas import SCHEMAS as COMPETITION_SCHEMAS

PATHS_FILE = Path(__file__).with_name("openapi.yaml")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# the shared error responses, by status: (component name, description). An operation in openapi.yaml lists the
# ones it can answer as `x-errors: [400, 404, ...]`; `paths()` expands the list into `responses` refs.
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON or query"),
    401: ("Unauthorized", "Missing, invalid, expired or revoked token"),
    403: ("Forbidden", "The token's role may not do this"),
    404: ("NotFound", "No such resource"),
    409: ("Conflict", "Already exists or already used"),
    413: ("PayloadTooLarge", "Body over MAX_CONTENT_LENGTH"),
    415: ("UnsupportedMediaType", "Body is not application/json"),
    422: ("ValidationError", "A field is invalid; details name it"),
    429: ("RateLimited", "Too many requests; see Retry-After"),
    503: ("Unavailable", "Redis unreachable or the write buffer is full; see Retry-After"),
    410: ("Gone", "The cursor's snapshot was replaced; start again from the first page"),
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string", "example": "price: must be a positive decimal"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}

TEMPLATE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Leaderboard API",
        "version": __version__,
        "description": (
            "Real-time leaderboards for trading venues and games. Writes are acknowledged once they are in the"
            " write-ahead log; lists are served from snapshots refreshed every REFRESH_SECONDS. Every error is"
            ' `{"error": {"code", "message", "details"}}`.'
        ),
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": ERROR_SCHEMA,
            "Tokens": {
                "type": "object",
                "required": ["access_token", "refresh_token", "token_type", "expires_in"],
                "properties": {
                    "access_token": {"type": "string"},
                    "refresh_token": {"type": "string"},
                    "token_type": {"type": "string", "example": "Bearer"},
                    "expires_in": {"type": "integer", "example": 900},
                },
            },
            "Board": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "example": "btc"},
                    "title": {"type": "string", "example": "Bitcoin volume"},
                    "unit": {"type": "string", "example": "USD"},
                    "decimals": {"type": "integer", "example": 2},
                    "mode": {"type": "string", "enum": ["sum", "best"]},
                    "ties": {"type": "string", "enum": ["shared", "first_reached"],
                             "description": "shared: 1, 1, 3; first_reached: equal scores by who got there first"},
                    "kind": {"type": "string", "enum": ["symbol", "aggregate", "game"]},
                    "symbol": {"type": "string", "nullable": True, "example": "BTC"},
                    "icon": {"type": "string", "nullable": True, "example": "/assets/icons/btc.svg"},
                    "periods": {"type": "array", "items": {"type": "string"}, "example": ["day", "24h", "all"]},
                },
            },
            "RankedEntry": {
                "type": "object",
                "properties": {
                    "rank": {"type": "integer", "example": 1},
                    "user_id": {"type": "string", "example": "alice"},
                    "user_name": {"type": "string", "example": "Alice"},
                    "score": {"type": "string", "example": "12345.67", "description": "exact, in major units"},
                    "percentile": {"type": "number", "example": 99.5, "description": "member lists only"},
                },
            },
            "TopList": {
                "type": "object",
                "properties": {
                    "board": {"type": "string", "example": "btc"},
                    "period": {"type": "string", "example": "day"},
                    "date": {"type": "string", "format": "date", "description": "history pages only"},
                    "as_of": {"type": "string", "format": "date-time"},
                    "next_refresh_at": {"type": "string", "format": "date-time"},
                    "resets_at": {"type": "string", "format": "date-time",
                                  "description": "period=day lists only: the next 00:00 UTC"},
                    "total": {"type": "integer"},
                    "entries": {"type": "array", "items": {"$ref": "#/components/schemas/RankedEntry"}},
                    "next_cursor": {"type": "string", "nullable": True},
                    "source": {"type": "string", "enum": ["snapshot", "live"]},
                },
            },
            "MemberRank": {
                "type": "object",
                "properties": {
                    "board": {"type": "string"},
                    "period": {"type": "string"},
                    "user_id": {"type": "string"},
                    "user_name": {"type": "string"},
                    "rank": {"type": "integer"},
                    "score": {"type": "string", "example": "12345.67"},
                    "percentile": {"type": "number", "example": 87.5},
                    "total": {"type": "integer"},
                    "as_of": {"type": "string", "format": "date-time"},
                },
            },
            "User": {
                "type": "object",
                "required": ["username", "display_name", "role"],
                "properties": {
                    "username": {"type": "string", "example": "alice"},
                    "display_name": {"type": "string", "example": "Alice"},
                    "role": {"type": "string", "enum": ["trader", "service", "admin"]},
                },
            },
        },
        "responses": {
            name: {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
            for name, description in ERROR_RESPONSES.values()
        },
    },
}

TEMPLATE["components"]["schemas"].update(COMPETITION_SCHEMAS)

CONFIG: dict[str, Any] = {
    "headers": [],
    "specs": [{"endpoint": "openapi", "route": "/openapi.json", "rule_filter": lambda rule: True,
               "model_filter": lambda tag: True}],
    "static_url_path": "/flasgger_static",
    "swagger_ui": True,
    "specs_route": "/apidocs/",
    "openapi": "3.0.3",
    "title": defaults.API_TITLE,
    # flasgger renders this into `let auth_config = ...;`: unset, it writes Python's None (a JS error)
    "auth": {},
    # Swagger UI's own top bar shows "Swagger"; ours names the API (templates/flasgger/head.html styles it)
    "hide_top_bar": True,
    "top_text": (
        f'<header class="lb-apidocs-header" data-testid="apidocs-header"><h1>{defaults.API_TITLE}</h1>'
        '<a href="/">dashboard</a><a href="/openapi.json">openapi.json</a>'
        "<span>Authorize with the access_token of POST /v1/login</span></header>"
    ),
}


@cache
def paths() -> dict[str, Any]:
    """openapi.yaml's paths, each operation's `x-errors` expanded into refs to the shared error responses."""
    document = yaml.safe_load(PATHS_FILE.read_text())
    for path_item in document["paths"].values():
        for operation in path_item.values():
            errors = operation.pop("x-errors", [])
            if errors:
                responses = operation.setdefault("responses", {})
                for status in errors:
                    responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    return document["paths"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    # flasgger keeps per-app state (it wraps app.add_url_rule), so each app gets its own instance; it updates
    # the template's operations with the docstrings' parts, so each app gets a copy of the paths too
    template = {**TEMPLATE, "paths": copy.deepcopy(paths())}
    Swagger(app, config=dict(CONFIG), template=template, merge=False)

"""The OpenAPI document's frame: info, security scheme and shared schemas. Paths come from view docstrings."""

from __future__ import annotations

from typing import Any

from flasgger import Swagger
from flask import Flask

from .. import __version__

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
            name: {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for name, description in {
                "BadRequest": "Malformed JSON or query",
                "Unauthorized": "Missing, invalid, expired or revoked token",
                "Forbidden": "The token's role may not do this",
                "NotFound": "No such resource",
                "Conflict": "Already exists or already used",
                "PayloadTooLarge": "Body over MAX_CONTENT_LENGTH",
                "UnsupportedMediaType": "Body is not application/json",
                "ValidationError": "A field is invalid; details name it",
                "RateLimited": "Too many requests; see Retry-After",
                "Unavailable": "Redis unreachable or the write buffer is full; see Retry-After",
            }.items()
        },
    },
}

CONFIG: dict[str, Any] = {
    "headers": [],
    "specs": [{"endpoint": "openapi", "route": "/openapi.json", "rule_filter": lambda rule: True,
               "model_filter": lambda tag: True}],
    "static_url_path": "/flasgger_static",
    "swagger_ui": True,
    "specs_route": "/apidocs/",
    "openapi": "3.0.3",
    "title": "Leaderboard API",
}


def init_app(app: Flask) -> None:
    # flasgger keeps per-app state (it wraps app.add_url_rule), so each app gets its own instance
    Swagger(app, config=dict(CONFIG), template=TEMPLATE, merge=False)

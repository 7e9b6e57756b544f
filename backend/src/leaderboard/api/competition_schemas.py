"""OpenAPI components of the competitions API (merged into the document's frame in api/openapi.py)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_PRIZE = {
    "type": "object",
    "required": ["from_rank", "to_rank", "prize"],
    "additionalProperties": False,
    "properties": {"from_rank": {"type": "integer", "minimum": 1, "maximum": 100000},
                   "to_rank": {"type": "integer", "minimum": 1, "maximum": 100000},
                   "prize": {"type": "string", "minLength": 1, "maxLength": 64, "example": "1000 USDT"}},
}
_STATUS = {"type": "string", "enum": ["upcoming", "live", "finalizing", "finished"]}

SCHEMAS: dict[str, Any] = {
    "Prize": _PRIZE,
    "CompetitionInput": {
        "type": "object",
        "required": ["id", "metric", "starts_at", "ends_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,47}$", "example": "december-cup"},
            "title": {"type": "string", "minLength": 1, "maxLength": 80, "example": "December cup"},
            "metric": {"type": "string", "enum": ["volume", "pnl", "roi", "score"]},
            "symbols": {"type": "array", "nullable": True, "items": {"type": "string", "example": "BTC"}},
            "starts_at": {"type": "string", "format": "date-time",
                          "description": "not before now (within COMPETITION_START_SKEW_SECONDS)"},
            "ends_at": {"type": "string", "format": "date-time"},
            "registration": {"type": "string", "enum": ["open", "none"], "default": "open"},
            "min_volume": {"oneOf": [{"type": "string"}, {"type": "number"}], "nullable": True, "example": "1000"},
            "prizes": {"type": "array", "items": {"$ref": "#/components/schemas/Prize"}},
            "ties": {"type": "string", "enum": ["first_reached", "shared"], "default": "first_reached"},
            "team_size": {"type": "integer", "nullable": True, "minimum": 1},
            "team_top_n": {"type": "integer", "nullable": True, "minimum": 1},
            "webhook_url": {"type": "string", "nullable": True, "maxLength": 2048,
                            "example": "https://venue.example/hooks/results",
                            "description": "https (http only in dev mode), no credentials, a public destination"},
        },
    },
    "Competition": {
        "type": "object",
        "required": ["id", "title", "metric", "unit", "decimals", "symbols", "starts_at", "ends_at", "status",
                     "time_left_seconds", "registration", "min_volume", "prizes", "ties", "team_size", "team_top_n",
                     "participants", "max_score", "board"],
        "properties": {
            "id": _STR, "title": _STR,
            "metric": {"type": "string", "enum": ["volume", "pnl", "roi", "score"]},
            "unit": {"type": "string", "example": "USD"}, "decimals": {"type": "integer"},
            "symbols": {"type": "array", "nullable": True, "items": _STR},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "status": _STATUS,
            "time_left_seconds": {"type": "number", "description": "to the start (upcoming) or the end (live)"},
            "registration": {"type": "string", "enum": ["open", "none"]},
            "min_volume": _NSTR,
            "prizes": {"type": "array", "items": {"$ref": "#/components/schemas/Prize"}},
            "ties": {"type": "string", "enum": ["first_reached", "shared"]},
            "team_size": {"type": "integer", "nullable": True},
            "team_top_n": {"type": "integer", "nullable": True},
            "participants": {"type": "integer"},
            "max_score": {"type": "string", "description": "largest score kept exactly (first_reached encoding)"},
            "board": {"type": "string", "example": "competition:december-cup"},
        },
    },
    "CompetitionEntry": {
        "type": "object",
        "required": ["rank", "user_id", "user_name", "score", "prize"],
        "properties": {"rank": {"type": "integer"}, "user_id": _STR, "user_name": _STR,
                       "score": {"type": "string", "example": "12345.67"}, "prize": _NSTR},
    },
    "CompetitionPage": {
        "type": "object",
        "required": ["competition", "status", "as_of", "total", "ties", "entries", "next_cursor"],
        "properties": {
            "competition": _STR, "status": _STATUS, "as_of": {"type": "string", "format": "date-time"},
            "total": {"type": "integer"}, "ties": {"type": "string", "enum": ["first_reached", "shared"]},
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/CompetitionEntry"}},
            "next_cursor": _NSTR,
        },
    },
    "CompetitionMember": {
        "type": "object",
        "required": ["competition", "user_id", "user_name", "participant", "qualified", "disqualified", "rank",
                     "score", "volume", "to_qualify", "prize", "team", "status"],
        "properties": {
            "competition": _STR, "user_id": _STR, "user_name": _STR,
            "participant": {"type": "boolean"}, "qualified": {"type": "boolean"},
            "disqualified": {"type": "object", "nullable": True,
                             "properties": {"reason": _STR, "by": _STR, "at": _STR}},
            "rank": {"type": "integer", "nullable": True}, "score": _NSTR,
            "volume": {"type": "string", "example": "1500.00"},
            "to_qualify": {"type": "string", "example": "0", "description": "volume still needed to qualify"},
            "prize": _NSTR, "team": _NSTR, "status": _STATUS,
        },
    },
    "CompetitionResults": {
        "type": "object",
        "required": ["competition", "title", "metric", "unit", "status", "finalized_at", "starts_at", "ends_at",
                     "ties", "total", "entries", "prizes", "teams"],
        "properties": {
            "competition": _STR, "title": _STR, "metric": _STR, "unit": _STR,
            "status": {"type": "string", "enum": ["finished"]},
            "finalized_at": {"type": "string", "format": "date-time"},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "ties": _STR, "total": {"type": "integer"},
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/CompetitionEntry"}},
            "prizes": {"type": "array", "items": {"$ref": "#/components/schemas/Prize"}},
            "teams": {"type": "array", "items": {"$ref": "#/components/schemas/TeamEntry"}},
        },
    },
    "Joined": {
        "type": "object",
        "required": ["competition", "user_id", "joined"],
        "properties": {"competition": _STR, "user_id": _STR, "joined": {"type": "boolean"}},
    },
    "AuditEntry": {
        "type": "object",
        "required": ["action", "member", "by", "at"],
        "properties": {"action": {"type": "string", "enum": ["disqualify", "reinstate"]}, "member": _STR,
                       "reason": _NSTR, "by": _STR, "at": _STR},
    },
    "TeamCreated": {
        "type": "object",
        "required": ["team_id", "name", "code", "members"],
        "properties": {"team_id": _STR, "name": _STR, "code": _STR, "members": {"type": "array", "items": _STR}},
    },
    "TeamEntry": {
        "type": "object",
        "required": ["rank", "team_id", "name", "members", "counted", "score"],
        "properties": {"rank": {"type": "integer"}, "team_id": _STR, "name": _STR,
                       "members": {"type": "array", "items": _STR}, "counted": {"type": "integer"},
                       "score": {"type": "string"}},
    },
}

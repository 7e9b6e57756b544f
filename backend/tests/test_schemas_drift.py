"""frontend/lib/schemas.ts against the API's /openapi.json: both sides parsed, the main shapes compared field by
field (names, optionality, nullability, types, enums), so neither side can change without the other.

Rules, in the direction data flows:
- a response shape (API -> dashboard): every field the API documents is in the TS type and every TS field is
  documented; a field the API lists as required is not optional in TS; nullable in the API exactly when the TS
  type includes `null`; an enum is the same set of literals (a plain `string` in TS also accepts it). Where the
  API documents a plain string the TS type may name the known values as literals (`period`, `token_type`).
- a request body (dashboard -> API): every TS field is accepted by the API (bodies are additionalProperties:
  false), every field the API requires is a required TS field, and each TS type is one the API accepts. A TS
  `string` for an API enum is accepted: those values come from the API's own catalog (symbols) at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .ts_types import TsModule, TsType, parse_module

SCHEMAS_TS = Path(__file__).resolve().parents[2] / "frontend" / "lib" / "schemas.ts"

# (OpenAPI component, TS type, API fields the TS type may lack -> why)
COMPONENTS: list[tuple[str, str, dict[str, str]]] = [
    ("Board", "Board", {}),
    ("RankedEntry", "Entry", {}),
    ("TopList", "HistoryPage", {}),
    ("TopList", "LeaderboardPage", {"date": "history pages only: HistoryPage adds it"}),
    ("MemberRank", "MemberRank", {}),
    ("Tokens", "TokenPair", {}),
    ("User", "User", {}),
    ("Error", "ApiErrorBody", {}),
    ("Prize", "Prize", {}),
    ("Competition", "Competition", {}),
    ("CompetitionEntry", "CompetitionEntry", {}),
    ("CompetitionPage", "CompetitionPage", {}),
    ("CompetitionMember", "CompetitionMember", {}),
    ("CompetitionResults", "CompetitionResults", {}),
    ("TeamEntry", "TeamEntry", {}),
    ("Joined", "Joined", {}),
]
# (method, path, status, a property to descend into ("symbols[]" = the items of `symbols`) or None, TS type)
RESPONSES: list[tuple[str, str, str, str | None, str]] = [
    ("get", "/v1/leaderboards/{board_id}/members/{user_id}/around", "200", None, "AroundMe"),
    ("get", "/v1/leaderboards/{board_id}/members", "200", None, "MemberList"),
    ("get", "/v1/symbols", "200", "symbols[]", "SymbolInfo"),
    ("post", "/v1/actions", "201", None, "Action"),
    ("post", "/v1/trades", "202", None, "Accepted"),
    ("post", "/v1/scores", "202", None, "Accepted"),
    ("post", "/v1/auth/register", "201", None, "User"),
]
REQUESTS: list[tuple[str, str, str]] = [
    ("/v1/trades", "TradeInput", "single trade (first oneOf)"),
    ("/v1/auth/register", "RegisterInput", ""),
    ("/v1/scores", "ScoreInput", ""),
]


class Drift:
    """Compares OpenAPI schemas with TS types; collects every disagreement as a readable line."""

    def __init__(self, document: dict[str, Any], module: TsModule) -> None:
        self.document = document
        self.module = module
        self.problems: list[str] = []

    def deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            schema = self.document["components"]["schemas"][name]
        return schema

    def compare(self, schema: dict[str, Any], ts: TsType, where: str, request: bool,
                api_only: dict[str, str] | None = None) -> None:
        schema = self.deref(schema)
        resolved = self.module.resolve(ts)
        options = list(resolved.items) if resolved.kind == "union" else [resolved]
        has_null = any(o.kind == "null" for o in options)
        options = [o for o in options if o.kind != "null"]
        nullable = bool(schema.get("nullable"))
        if has_null and not nullable:
            self.problems.append(f"{where}: TS allows null, the API never sends/accepts it")
        if nullable and not has_null and not request:
            self.problems.append(f"{where}: the API may send null, the TS type does not allow it")
        if "oneOf" in schema:
            if not request:
                self.problems.append(f"{where}: oneOf in a response is not compared; describe it in TS first")
                return
            for option in options:
                if not any(self.fits(alternative, option, where) for alternative in schema["oneOf"]):
                    self.problems.append(f"{where}: TS {describe(option)} matches none of the API's oneOf")
            return
        kind = schema.get("type", "object" if "properties" in schema else None)
        if kind == "string":
            self.compare_string(schema, options, where, request)
        elif kind in ("integer", "number", "boolean"):
            expected = "boolean" if kind == "boolean" else "number"
            if [o.kind for o in options] != [expected]:
                self.problems.append(f"{where}: API {kind}, TS {describe_all(options)}")
        elif kind == "array":
            if len(options) != 1 or options[0].kind != "array":
                self.problems.append(f"{where}: API array, TS {describe_all(options)}")
            else:
                self.compare(schema["items"], options[0].items[0], f"{where}[]", request)
        elif kind == "object":
            self.compare_object(schema, options, where, request, api_only or {})
        else:
            self.problems.append(f"{where}: API schema {schema} is not compared")

    def fits(self, schema: dict[str, Any], ts: TsType, where: str) -> bool:
        probe = Drift(self.document, self.module)
        probe.compare(schema, ts, where, request=True)
        return not probe.problems

    def compare_string(self, schema: dict[str, Any], options: list[TsType], where: str, request: bool) -> None:
        if not options or any(o.kind not in ("string", "literal") for o in options):
            self.problems.append(f"{where}: API string, TS {describe_all(options)}")
            return
        literals = {str(o.value) for o in options if o.kind == "literal"}
        if any(o.kind == "string" for o in options):
            return
        enum = set(schema.get("enum", []))
        if not enum:
            return  # TS names the known values of a plain string
        if request and not literals <= enum:
            self.problems.append(f"{where}: TS sends {sorted(literals - enum)}, not in the API's enum {sorted(enum)}")
        if not request and literals != enum:
            self.problems.append(f"{where}: API enum {sorted(enum)}, TS literals {sorted(literals)}")

    def compare_object(self, schema: dict[str, Any], options: list[TsType], where: str, request: bool,
                       api_only: dict[str, str]) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        if len(options) != 1 or options[0].kind not in ("object", "record"):
            self.problems.append(f"{where}: API object, TS {describe_all(options)}")
            return
        if options[0].kind == "record":
            if properties:
                self.problems.append(f"{where}: API names fields {sorted(properties)}, TS is a Record")
            return
        if not properties:
            self.problems.append(f"{where}: API object without fields, TS names {sorted(options[0].members)}")
            return
        members = options[0].members
        required = set(schema.get("required", []))
        for name in sorted(set(members) - set(properties)):
            self.problems.append(f"{where}.{name}: in TS, not in the API")
        for name in sorted(set(properties) - set(members)):
            if name in api_only:
                continue
            if not request or name in required:
                self.problems.append(f"{where}.{name}: in the API, missing from TS")
        for name in sorted(required & set(members)):
            if members[name][0]:
                self.problems.append(f"{where}.{name}: required by the API, optional in TS")
        for name in sorted(set(members) & set(properties)):
            self.compare(properties[name], members[name][1], f"{where}.{name}", request)


def describe(ts: TsType) -> str:
    if ts.kind == "literal":
        return repr(ts.value)
    return ts.value or ts.kind


def describe_all(options: list[TsType]) -> str:
    return " | ".join(describe(o) for o in options) or "nothing"


@pytest.fixture()
def openapi(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json
    return document


@pytest.fixture(scope="module")
def schemas_ts() -> TsModule:
    return parse_module(SCHEMAS_TS.read_text())


def response_schema(document: dict[str, Any], method: str, path: str, status: str, descend: str | None) -> Any:
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    if descend:
        name = descend.removesuffix("[]")
        schema = schema["properties"][name]
        if descend.endswith("[]"):
            schema = schema["items"]
    return schema


def request_schema(document: dict[str, Any], path: str) -> Any:
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return schema["oneOf"][0] if "oneOf" in schema else schema


def test_the_ts_reader_sees_every_declared_shape(schemas_ts: TsModule) -> None:
    names = {n for _, n, _ in COMPONENTS} | {n for *_, n in RESPONSES} | {n for _, n, _ in REQUESTS}
    assert names <= set(schemas_ts.interfaces), names - set(schemas_ts.interfaces)
    assert schemas_ts.consts["PERIODS"] == ("day", "24h", "3d", "7d", "all")
    assert schemas_ts.members_of("HistoryPage")["date"][1] == TsType("string")
    assert "board" in schemas_ts.members_of("HistoryPage")  # inherited from LeaderboardPage


@pytest.mark.parametrize(("component", "ts_name", "api_only"), COMPONENTS, ids=[f"{c}-{t}" for c, t, _ in COMPONENTS])
def test_component_matches_schemas_ts(openapi: dict[str, Any], schemas_ts: TsModule, component: str, ts_name: str,
                                      api_only: dict[str, str]) -> None:
    drift = Drift(openapi, schemas_ts)
    drift.compare({"$ref": f"#/components/schemas/{component}"}, TsType("ref", ts_name), component, False, api_only)
    assert drift.problems == []


@pytest.mark.parametrize(("method", "path", "status", "descend", "ts_name"), RESPONSES,
                         ids=[f"{m}-{p}-{t}" for m, p, _, _, t in RESPONSES])
def test_response_matches_schemas_ts(openapi: dict[str, Any], schemas_ts: TsModule, method: str, path: str,
                                     status: str, descend: str | None, ts_name: str) -> None:
    drift = Drift(openapi, schemas_ts)
    drift.compare(response_schema(openapi, method, path, status, descend), TsType("ref", ts_name),
                  f"{method.upper()} {path} {status}", request=False)
    assert drift.problems == []


@pytest.mark.parametrize(("path", "ts_name", "note"), REQUESTS, ids=[t for _, t, _ in REQUESTS])
def test_request_body_matches_schemas_ts(openapi: dict[str, Any], schemas_ts: TsModule, path: str, ts_name: str,
                                         note: str) -> None:
    drift = Drift(openapi, schemas_ts)
    drift.compare(request_schema(openapi, path), TsType("ref", ts_name), f"POST {path} body", request=True)
    assert drift.problems == []


def test_the_check_catches_drift(openapi: dict[str, Any]) -> None:
    """The same comparison on a doctored copy of schemas.ts finds each kind of disagreement."""
    source = SCHEMAS_TS.read_text()
    doctored = {
        "renamed field": ("  user_name: string\n  score: string\n", "  username: string\n  score: string\n"),
        "number as string": ("  decimals: number\n", "  decimals: string\n"),
        "null dropped": ("  symbol: string | null\n", "  symbol: string\n"),
        "enum literal changed": ('export type BoardMode = "sum" | "best"', 'export type BoardMode = "sum" | "max"'),
        "required made optional": ("  display_name: string\n  role: Role", "  display_name?: string\n  role: Role"),
    }
    for what, (old, new) in doctored.items():
        assert source.count(old) >= 1, f"{what}: the fixture text is no longer in schemas.ts"
        module = parse_module(source.replace(old, new, 1))
        drift = Drift(openapi, module)
        for component, ts_name, api_only in COMPONENTS:
            drift.compare({"$ref": f"#/components/schemas/{component}"}, TsType("ref", ts_name), component, False,
                          api_only)
        assert drift.problems, f"{what}: not detected"
    request = Drift(openapi, parse_module(source.replace("  trader_id: string\n", "  traderId: string\n", 1)))
    request.compare(request_schema(openapi, "/v1/trades"), TsType("ref", "TradeInput"), "trade", request=True)
    assert any("traderId: in TS, not in the API" in p for p in request.problems), request.problems

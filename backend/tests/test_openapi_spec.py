"""api/openapi.yaml and the routes stay in step: every API route is documented there, nothing else is, and
its `x-errors` name only the shared error responses. The routes are Flask's and the ones the ASGI router serves
natively (live/asgi.py: the SSE streams), which no Flask view knows."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import yaml

from leaderboard.api.openapi import ERROR_RESPONSES, PATHS_FILE
from leaderboard.live import asgi
from leaderboard.live.stream import refuse_method

UNDOCUMENTED = ("static", "flasgger.", "ui.")  # endpoints outside the API: assets, the docs UI, the dashboard


def _routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(UNDOCUMENTED):
            continue
        view = app.view_functions[rule.endpoint]
        assert "---" in (view.__doc__ or ""), f"{rule.rule}: the docstring carries the view's tags after ---"
        path = re.sub(r"<(?:[^<>:]*:)?([^<>]*)>", r"{\1}", rule.rule)
        routes.update((path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def _native_routes() -> set[tuple[str, str]]:
    """The router's own path patterns (every `*_PATH` regex of live/asgi.py) as path shapes, a `{}` per
    captured segment (`/v1/leaderboards/{}/stream`), with the methods its endpoints serve (refuse_method: the
    others get 405)."""
    patterns = [value for name, value in vars(asgi).items()
                if name.endswith("_PATH") and isinstance(value, re.Pattern)]
    assert len(patterns) >= 2, "live/asgi.py names its native routes' patterns *_PATH"
    shapes = set()
    for pattern in patterns:
        shape = re.sub(r"\([^()]*\)", "{}", pattern.pattern).removesuffix("/?")
        assert re.fullmatch(r"[\w/{}-]+", shape), f"{pattern.pattern}: not a plain path with captured segments"
        shapes.add(shape)
    methods = {method.lower() for method in ("GET", "POST", "PUT", "PATCH", "DELETE") if not _refused(method)}
    return {(shape, method) for shape in shapes for method in methods}


def _refused(method: str) -> bool:
    async def send(_message: dict[str, Any]) -> None:
        pass

    return asyncio.run(refuse_method({"method": method}, send))


def _shape(path: str) -> str:
    return re.sub(r"\{[^{}]*\}", "{}", path)


def test_every_api_route_is_documented_and_nothing_else(app):
    documented = yaml.safe_load(PATHS_FILE.read_text())["paths"]
    in_file = {(path, method) for path, item in documented.items() for method in item}
    flask = _routes(app)
    assert flask <= in_file, flask - in_file
    # the rest is exactly the router's native routes (their parameters named as the file names them)
    native = {(_shape(path), method) for path, method in in_file - flask}
    assert native == _native_routes()
    for path, method in in_file:
        assert set(documented[path][method].get("x-errors", [])) <= set(ERROR_RESPONSES), (path, method)


def test_served_document_has_the_file_paths_with_errors_expanded(client):
    document = client.get("/openapi.json").json
    trades = document["paths"]["/v1/trades"]["post"]
    assert trades["summary"].startswith("Post one trade")  # from the docstring
    assert trades["tags"] == ["writes"]
    assert trades["responses"]["503"] == {"$ref": "#/components/responses/Unavailable"}  # from x-errors
    assert "x-errors" not in trades
    # the router's native streams have no view: the served document has them as the file writes them
    stream = document["paths"]["/v1/leaderboards/{board_id}/stream"]["get"]
    assert stream["tags"] == ["leaderboards"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert stream["responses"]["429"] == {"$ref": "#/components/responses/RateLimited"}
    assert "Retry-After" in stream["responses"]["503"]["headers"]
    assert "/v1/competitions/{comp_id}/stream" in document["paths"]

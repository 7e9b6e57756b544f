"""api/openapi.yaml and the routes stay in step: every API route is documented there, nothing else is, and
its `x-errors` name only the shared error responses."""

from __future__ import annotations

import re
from typing import Any

import yaml

from leaderboard.api.openapi import ERROR_RESPONSES, PATHS_FILE

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


def test_every_api_route_is_documented_and_nothing_else(app):
    documented = yaml.safe_load(PATHS_FILE.read_text())["paths"]
    in_file = {(path, method) for path, item in documented.items() for method in item}
    assert in_file == _routes(app)
    for path, method in in_file:
        assert set(documented[path][method].get("x-errors", [])) <= set(ERROR_RESPONSES), (path, method)


def test_served_document_has_the_file_paths_with_errors_expanded(client):
    document = client.get("/openapi.json").json
    trades = document["paths"]["/v1/trades"]["post"]
    assert trades["summary"].startswith("Post one trade")  # from the docstring
    assert trades["tags"] == ["writes"]
    assert trades["responses"]["503"] == {"$ref": "#/components/responses/Unavailable"}  # from x-errors
    assert "x-errors" not in trades

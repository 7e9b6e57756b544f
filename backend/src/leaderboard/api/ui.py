"""Serves the dashboard's static export and the shipped assets (board icons) on the API's origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, request, send_from_directory
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from ..context import current_settings
from ..http import json_response

bp = Blueprint("ui", __name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
# paths that belong to the API: never answered with a dashboard page
_API_PREFIXES = ("v1/", "api/", "apidocs", "openapi.json", "flasgger_static", "metrics", "leaderboard/")


class DashboardPath(PathConverter):
    """A path that is not the API's: the catch-all never matches /v1/..., so a wrong method on an API route
    is a 405 with the right Allow header (not a 404 from the dashboard) and unknown API paths stay 404."""

    regex = r"(?!(?:v1|api|apidocs|openapi\.json|flasgger_static|metrics|leaderboard)(?:/|$))[^/].*?"


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("dashboard_path", DashboardPath)


def default_ui_dir() -> Path:
    """The repo's frontend/out (src/leaderboard/api -> repo root is four levels up)."""
    return Path(__file__).resolve().parents[4] / "frontend" / "out"


def _ui_dir() -> Path | None:
    configured = current_settings().UI_DIST_DIR
    path = Path(configured) if configured else default_ui_dir()
    return path if (path / "index.html").is_file() else None


@bp.get("/assets/<path:filename>")
def assets(filename: str) -> Any:
    return send_from_directory(ASSETS_DIR, filename, max_age=86400)


@bp.get("/favicon.ico")
def favicon() -> Any:
    """Browsers ask for /favicon.ico on their own, whatever the page links: the export's SVG icon."""
    root = _ui_dir()
    if root is None or not (root / "icon.svg").is_file():
        abort(404)
    return send_from_directory(root, "icon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/", defaults={"path": ""})
@bp.get("/<dashboard_path:path>")
def dashboard(path: str) -> Any:
    if path.startswith(_API_PREFIXES):
        abort(404)
    root = _ui_dir()
    if root is None:
        if path:
            abort(404)
        return json_response(
            {
                "service": "leaderboard",
                "message": "The dashboard is not built: run `make ui` (make run does it for you).",
                "api_docs": "/apidocs/",
                "openapi": "/openapi.json",
            }
        )
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root.resolve()):
        abort(404)
    if candidate.is_file():
        if candidate.suffix == ".html":
            return _page(candidate, 200)
        return send_from_directory(root, path)
    if (candidate / "index.html").is_file():
        if path and not path.endswith("/"):  # /login -> /login/: the export (trailingSlash) links its pages there
            query = request.query_string.decode("latin-1")
            return redirect(f"/{path}/" + (f"?{query}" if query else ""), code=308)
        return _page(candidate / "index.html", 200)
    not_found = root / "404.html"
    if not_found.is_file():  # read whole: a streamed file under a replaced status is never closed
        return _page(not_found, 404)
    abort(404)


def _page(file: Path, status: int) -> Response:
    """An HTML page of the export, read whole so the security headers can hash its inline scripts into the
    page's Content-Security-Policy (security.html_policy)."""
    return Response(file.read_bytes(), status, mimetype="text/html")

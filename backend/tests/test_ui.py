"""The dashboard's static export served by the API (api/ui.py): pages with and without the trailing slash,
the export's 404 page, assets, and the API's paths never answered with a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leaderboard.api.ui import default_ui_dir


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture()
def ui_dir(tmp_path: Path) -> Path:
    """A miniature static export laid out as `next build` with trailingSlash writes it."""
    root = tmp_path / "out"
    _write(root / "index.html", "<html>live board</html>")
    _write(root / "login" / "index.html", "<html>login page</html>")
    _write(root / "history" / "index.html", "<html>history page</html>")
    _write(root / "404.html", "<html>custom not found</html>")
    _write(root / "_next" / "static" / "chunks" / "app.js", "console.log('app')")
    _write(root / "icon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    _write(tmp_path / "secret.txt", "outside the export")
    return root


@pytest.fixture()
def app_config(app_config: dict[str, Any], ui_dir: Path) -> dict[str, Any]:
    return {**app_config, "UI_DIST_DIR": ui_dir}


def test_home_page_is_the_exports_index(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True) == "<html>live board</html>"
    response.close()  # a file response: its file is closed with it


@pytest.mark.parametrize("page", ["login", "history"])
def test_page_with_trailing_slash_is_served(client: Any, page: str) -> None:
    response = client.get(f"/{page}/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"<html>{page} page</html>"
    response.close()


def test_page_without_trailing_slash_redirects_keeping_the_query(client: Any) -> None:
    response = client.get("/login")
    assert response.status_code == 308
    assert response.headers["Location"] == "/login/"

    response = client.get("/history?board=btc&date=2026-01-02")
    assert response.status_code == 308
    assert response.headers["Location"] == "/history/?board=btc&date=2026-01-02"

    followed = client.get("/history?board=btc", follow_redirects=True)
    assert followed.status_code == 200
    assert followed.get_data(as_text=True) == "<html>history page</html>"
    followed.close()


def test_static_files_are_served_as_they_are(client: Any) -> None:
    response = client.get("/_next/static/chunks/app.js")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "console.log('app')"
    response.close()


@pytest.mark.parametrize("path", ["/nope", "/nope/", "/login/nope", "/../secret.txt", "/%2e%2e/secret.txt"])
def test_unknown_paths_get_the_exports_404_page(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "outside the export" not in response.get_data(as_text=True)


def test_unknown_page_is_the_custom_404(client: Any) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.get_data(as_text=True) == "<html>custom not found</html>"


@pytest.mark.parametrize("path", ["/v1/nope", "/api/nope", "/v1", "/metricsx/../v1/nope"])
def test_api_paths_are_never_answered_with_a_page(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "not_found"


def test_favicon_is_the_exports_icon(client: Any) -> None:
    response = client.get("/favicon.ico")  # browsers ask for it whatever the page links: never a 404 console error
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True) == "<svg xmlns='http://www.w3.org/2000/svg'/>"
    response.close()


def test_board_icons_are_served_from_the_package(client: Any) -> None:
    response = client.get("/assets/icons/btc.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    response.close()


def test_without_a_build_the_root_explains_how_to_build_it(app_config: dict[str, Any], tmp_path: Path) -> None:
    from leaderboard import create_app

    client = create_app({**app_config, "UI_DIST_DIR": tmp_path / "not-built"}).test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert "make ui" in response.json["message"]
    assert client.get("/login/").status_code == 404


def test_default_dir_is_the_repos_frontend_out() -> None:
    assert default_ui_dir() == Path(__file__).resolve().parents[2] / "frontend" / "out"

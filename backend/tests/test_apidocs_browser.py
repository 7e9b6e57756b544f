"""/apidocs/ in Chromium against a real `leaderboard serve`: the page loads without a console error (no script
error, nothing refused by the CSP), its header names the API, and a newcomer's path works: log in with
POST /v1/login, paste the access token into Authorize, and try GET /v1/me from the page (200, their name)."""

from __future__ import annotations

import pytest
import requests

from .serving import serve
from .test_dashboard_e2e import browser_page, chromium  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_apidocs_authorize_with_a_login_token_and_try_a_request(tmp_path, browser_page):  # noqa: F811
    page, watch = browser_page
    with serve(tmp_path) as served:
        account = {"username": "docs-reader", "password": "docs-reader-password"}
        assert requests.post(f"{served.base}/v1/auth/register", json=account, timeout=5).status_code == 201
        token = requests.post(f"{served.base}/v1/login", json=account, timeout=5).json()["access_token"]

        page.goto(f"{served.base}/apidocs/")
        page.locator(".swagger-ui .info .title").wait_for()
        header = page.get_by_test_id("apidocs-header")
        assert "Leaderboard API" in header.inner_text()
        assert "swagger" not in header.inner_text().lower() and page.locator(".topbar").count() == 0

        page.locator(".auth-wrapper button.authorize").click()
        page.locator(".auth-container input").first.fill(token)
        page.locator(".auth-btn-wrapper button.authorize").click()
        page.locator(".auth-btn-wrapper button.btn-done").click()

        me = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/v1/me"])')
        me.locator(".opblock-summary").click()
        me.locator("button.try-out__btn").click()
        me.locator("button.execute").click()
        live = me.locator(".live-responses-table .response")
        live.locator(".response-col_status").filter(has_text="200").wait_for()
        assert '"username": "docs-reader"' in live.locator(".response-col_description").inner_text()
    assert not watch.errors, watch.errors

"""Dashboard details a newcomer trips over, in Chromium against the real stack (the dashboard e2e's fixtures):
the password rule is checked before anything is sent, /login/ while logged in says so, board and period changes
are browser history (Back returns to the previous view), the "(you)" label of the around-me rows is never cut,
rank numbers line up the same in the board and in the around-me table, the symbol icons draw without a
font (paths, no text), and /apidocs/ works for a newcomer: no script error or CSP refusal, a header naming the
API, Authorize with the access token of POST /v1/login, then GET /v1/me tried from the page (200, their name).
Any console error fails it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import redis as redis_lib
import requests

from leaderboard.auth.users import UserStore

from .helpers import PASSWORD, Stack, board_row, seed_rivals

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ME = "long-named"
LONG_NAME = "Maximiliana Featherstonehaugh-Cholmondeley"


def post_my_trades(base: str) -> None:
    """Trades for ME through the seed's service account (seed_rivals made it)."""
    token = requests.post(f"{base}/v1/login", json={"username": "e2e-venue", "password": PASSWORD},
                          timeout=10).json()["access_token"]
    trades = [{"trade_id": f"me-{uuid.uuid4().hex}", "trader_id": ME, "symbol": "BTC", "side": "buy",
               "quantity": "0.5", "price": "64000.00", "ts": datetime.now(UTC).isoformat()}]
    posted = requests.post(f"{base}/v1/trades", json={"trades": trades}, timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 202, posted.text


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return dict(found)


def check_apidocs(page: Any, base: str, username: str) -> None:
    token = requests.post(f"{base}/v1/login", json={"username": username, "password": PASSWORD},
                          timeout=10).json()["access_token"]
    page.goto(f"{base}/apidocs/")
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
    assert f'"username": "{username}"' in live.locator(".response-col_description").inner_text()


def test_dashboard_details(stack: Stack, browser_page: Any, redis_client: redis_lib.Redis) -> None:
    from playwright.sync_api import expect

    page, watch = browser_page
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    with stack.api("serve.log") as api:
        base = api.base
        seed_rivals(base, redis_client)
        assert UserStore(redis_client).create(ME, PASSWORD, LONG_NAME, "trader") is not None
        post_my_trades(base)

        # the password rule, before anything is sent
        page.goto(f"{base}/register/")
        page.get_by_test_id("register-username").fill("newcomer")
        page.get_by_test_id("register-password").fill("short")
        page.get_by_test_id("register-submit").click()
        expect(page.get_by_test_id("register-password-error")).to_have_text("At least 8 characters.")
        assert not [r for r in sent if r.startswith("POST") and "/v1/auth/register" in r]

        # log in; /login/ then says who is logged in
        page.goto(f"{base}/login/")
        page.get_by_test_id("login-username").fill(ME)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/login/")
        expect(page.get_by_test_id("already-logged-in")).to_contain_text(f"@{ME}")
        expect(page.get_by_test_id("login-form")).to_have_count(0)

        # board and period changes are history entries
        page.goto(f"{base}/")
        expect(page.get_by_test_id("leaderboard-table")).to_be_visible()
        page.get_by_test_id("board-picker").click()
        page.get_by_test_id("board-option-btc").click()
        page.wait_for_url(re.compile(r"[?&]board=btc\b"))
        page.get_by_test_id("period-tab-7d").click()
        page.wait_for_url(re.compile(r"[?&]period=7d\b"))
        page.go_back()
        page.wait_for_url(re.compile(r"board=btc&period=day$"))
        expect(page.get_by_test_id("period-tab-day")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_test_id("board-picker")).to_contain_text("Bitcoin volume")
        page.go_back()
        expect(page.get_by_test_id("board-picker")).to_contain_text("All symbols volume")
        page.go_forward()
        expect(page.get_by_test_id("board-picker")).to_contain_text("Bitcoin volume")

        # my row on the board and around me: "(you)" whole, ranks aligned the same in both tables
        mine = board_row(page, ME)
        expect(mine).to_be_visible(timeout=20_000)  # after the scheduler's next refresh (2 s)
        around = page.get_by_test_id("around-me-table")
        my_around = around.locator(f'[data-testid="leaderboard-row"][data-user-id="{ME}"]')
        you = my_around.get_by_test_id("you-label")
        expect(you).to_have_text("(you)")
        cell = box(my_around.get_by_test_id("name-cell"))
        label = box(you)
        assert label["x"] + label["width"] <= cell["x"] + cell["width"] + 0.5, (label, cell)  # not clipped
        assert my_around.get_by_test_id("name-cell").evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        offsets = []
        for table in (page.get_by_test_id("leaderboard-table"), around):
            rank = box(table.locator(f'[data-user-id="{ME}"]').get_by_test_id("rank-cell"))
            offsets.append(rank["x"] + rank["width"] - box(table)["x"])
        assert abs(offsets[0] - offsets[1]) <= 1.5, offsets

        # the icons draw without a font: shapes, no text
        for symbol in ("btc", "eth", "all", "scores"):
            svg = page.request.get(f"{base}/assets/icons/{symbol}.svg").text()
            assert "<text" not in svg and ("<path" in svg or "<polygon" in svg), symbol
        picker_icon = page.get_by_test_id("board-picker").locator("img")
        assert picker_icon.evaluate("img => img.complete && img.naturalWidth > 0")

        check_apidocs(page, base, ME)
    assert not watch.errors, watch.errors

"""Competitions in Chromium against the real stack (embedded Redis, `leaderboard serve` with the built export,
`leaderboard scheduler` finalizing every second): a trader logs in, finds the live competition on the
Competitions page, sees its countdown and prize tiers, joins, trades through the ticket on the competition
page and watches its rank and prize tier move past a rival; a competition that ended shows its frozen results.
Any browser console error fails it."""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import requests

from leaderboard.auth.users import UserStore
from leaderboard.clock import iso

from .helpers import PASSWORD, TEST_SECRET, ConsoleWatch, Served, running_process, serve

# the dashboard test's fixtures: Chromium (skips outside CI without it), the built export, a watched page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ME = "cup-trader"
PRIZES = [{"from_rank": 1, "to_rank": 1, "prize": "1 BTC"}, {"from_rank": 2, "to_rank": 3, "prize": "0.1 BTC"}]


@pytest.fixture()
def served(tmp_path: Path, redis_url: str, redis_client: redis_lib.Redis, ui_build: Path) -> Iterator[Served]:
    env = {"REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, "DEV_MODE": "0", "UI_DIST_DIR": str(ui_build),
           "LOG_LEVEL": "WARNING", "FINALIZE_GRACE_SECONDS": "1", "COMPETITION_JOB_SECONDS": "1"}
    scheduler_env = {**os.environ, **env, "DATA_DIR": str(tmp_path / "scheduler")}
    scheduler_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with running_process([sys.executable, "-m", "leaderboard", "scheduler"], scheduler_env,
                         tmp_path / "scheduler.log"), \
            serve(tmp_path, **env) as api:
        yield api


class Http:
    def __init__(self, base: str, username: str) -> None:
        self.base = base
        login = requests.post(f"{base}/v1/login", json={"username": username, "password": PASSWORD}, timeout=10)
        assert login.status_code == 200, login.text
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def post(self, path: str, body: Any = None) -> Any:
        response = requests.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=10)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()


def seed(base: str, redis_client: redis_lib.Redis) -> None:
    store = UserStore(redis_client)
    for username, name, role in [("cup-admin", "Admin", "admin"), ("cup-venue", "Venue", "service"),
                                 ("ada", "Ada Lovelace", "trader"), ("grace", "Grace Hopper", "trader"),
                                 (ME, "Cup Trader", "trader")]:
        assert store.create(username, PASSWORD, name, role) is not None
    admin, venue = Http(base, "cup-admin"), Http(base, "cup-venue")
    now = datetime.now(UTC)
    admin.post("/v1/competitions", {
        "id": "e2e-cup", "title": "December BTC cup", "metric": "volume", "symbols": ["BTC"],
        "starts_at": iso(now), "ends_at": iso(now + timedelta(hours=1)),
        "registration": "open", "prizes": PRIZES})
    admin.post("/v1/competitions", {
        "id": "e2e-past", "title": "Flash cup", "metric": "volume", "symbols": ["ETH"], "registration": "none",
        "prizes": PRIZES,
        "starts_at": iso(now), "ends_at": iso(now + timedelta(seconds=10))})

    def trade(trader: str, usd: str, symbol: str = "BTC") -> dict[str, Any]:
        return {"trade_id": uuid.uuid4().hex, "trader_id": trader, "symbol": symbol, "side": "buy",
                "quantity": "1", "price": usd}

    venue.post("/v1/trades", {"trades": [trade("ada", "1000.00"), trade("grace", "300.00"),  # BTC: the live cup
                                         trade("ada", "50.00", "ETH"), trade("grace", "70.00", "ETH")]})  # flash
    for rival in ("ada", "grace"):  # after their trades: a late joiner brings its window volume
        Http(base, rival).post("/v1/competitions/e2e-cup/join")


def test_join_a_live_competition_trade_and_watch_rank_and_prize_move_then_see_frozen_results(
        chromium: str, served: Served, browser_page: tuple[Any, ConsoleWatch], redis_client: redis_lib.Redis,
        tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page, watch = browser_page
    base = served.base
    seed(base, redis_client)

    page.goto(f"{base}/login/")
    page.get_by_test_id("login-username").fill(ME)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base}/")

    page.get_by_role("link", name="Competitions").click()
    page.wait_for_url(f"{base}/competitions/")
    live = page.get_by_test_id("competitions-live")
    expect(live.get_by_test_id("competition-card-e2e-cup")).to_contain_text("#1: 1 BTC")
    live.get_by_test_id("competition-card-e2e-cup").click()
    page.wait_for_url(f"{base}/competition/?id=e2e-cup")
    expect(page.get_by_test_id("competition-title")).to_have_text("December BTC cup")
    expect(page.get_by_test_id("countdown")).to_contain_text("Ends in 00:5")
    expect(page.get_by_test_id("prize-tiers")).to_contain_text("#2\u20133 0.1 BTC")
    board = page.get_by_test_id("competition-board")
    expect(board.get_by_test_id("row-ada")).to_contain_text("1 BTC")

    # the page follows the competition's stream (EventSource); polling is only its fallback
    expect(page.get_by_test_id("competition-mode")).to_have_attribute("data-mode", "live", timeout=10_000)
    status = page.get_by_test_id("my-status")
    expect(status.get_by_test_id("my-rank")).to_have_text("—")
    status.get_by_test_id("join-competition").click()
    expect(status.get_by_test_id("joined")).to_be_visible()

    ticket = page.get_by_test_id("trade-ticket")

    def buy(price: str) -> None:
        ticket.get_by_test_id("trade-quantity").fill("1")
        ticket.get_by_test_id("trade-price").fill(price)
        ticket.get_by_test_id("trade-submit").click()
        expect(ticket.get_by_test_id("trade-quantity")).to_have_value("")

    buy("600.00")  # 600 < ada's 1,000 and > grace's 300: second, second tier
    # while the stream is open the page polls every 30 s: a rank within 10 s is the stream's doing
    expect(status.get_by_test_id("my-rank")).to_have_text("#2", timeout=10_000)
    expect(status.get_by_test_id("my-prize")).to_have_text("0.1 BTC")
    expect(board.get_by_test_id(f"row-{ME}")).to_contain_text("$600.00")
    buy("500.00")  # 1,100: first
    expect(status.get_by_test_id("my-rank")).to_have_text("#1", timeout=10_000)
    expect(page.get_by_test_id("competition-mode")).to_have_attribute("data-mode", "live")
    expect(status.get_by_test_id("my-prize")).to_have_text("1 BTC")
    expect(board.locator("tbody tr").first).to_have_attribute("data-testid", f"row-{ME}")
    expect(board.get_by_test_id("row-ada")).to_contain_text("0.1 BTC")
    page.screenshot(path=str(tmp_path / "competition.png"), full_page=True)

    # the flash cup ended a moment after the seed; the scheduler froze it (grace 1 s)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not redis_client.exists("lb:{comp:e2e-past}:final"):
        time.sleep(0.2)
    page.goto(f"{base}/competitions/")
    page.get_by_test_id("competitions-finished").get_by_test_id("competition-card-e2e-past").click()
    page.wait_for_url(f"{base}/competition/?id=e2e-past")
    expect(page.get_by_test_id("competition-status")).to_have_text("Finished")
    results = page.get_by_test_id("final-results")
    expect(results.locator("tbody tr")).to_have_count(2)  # ETH only: the BTC trades of the live cup are not in it
    expect(results.locator("tbody tr").first).to_have_text(re.compile(r"1\s*Grace Hopper\s*\$70\.00\s*1 BTC"))
    expect(results.get_by_test_id("row-ada")).to_have_text(re.compile(r"2\s*Ada Lovelace\s*\$50\.00\s*0\.1 BTC"))
    expect(page.get_by_test_id("countdown")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    assert watch.errors == []

"""A competition's board streams like a board, on the real stack: a `leaderboard serve` process (granian, the
ASGI router), a scheduler running the live ticker, one Redis, real HTTP. A trade inside the window reaches
GET /v1/competitions/{id}/stream within about a second of its 202; a disqualification moves the others up on
the stream; Last-Event-ID resumes; bad requests are 4xx."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from leaderboard.auth.users import UserStore
from leaderboard.clock import iso
from leaderboard.embedded_redis import free_port

from .helpers import (
    SseClient,
    apply_live_update,
    has_trader,
    start_api,
    start_live_scheduler,
    stop_processes,
    trade,
    venue_login,
    wait_ticking,
)

pytestmark = pytest.mark.slow
STREAM = "/v1/competitions/live-cup/stream"


def test_a_trade_in_the_window_reaches_the_competition_stream_within_a_second(venue_redis, tmp_path):
    server, check = venue_redis
    assert UserStore(check).create("cup-boss", "boss-password-123", "Boss", "admin") is not None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_api(tmp_path / "api", port, server.url, WEB_WORKERS="1")
    scheduler = start_live_scheduler(server.url, tmp_path / "scheduler", LIVE_TICK_MS="500")
    clients: list[SseClient] = []
    try:
        wait_ticking(check, scheduler)
        token = requests.post(f"{base}/v1/login", json={"username": "cup-boss", "password": "boss-password-123"},
                              timeout=10).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        now = datetime.now(UTC)
        created = requests.post(f"{base}/v1/competitions", headers=admin, timeout=10, json={
            "id": "live-cup", "metric": "volume", "registration": "none", "symbols": ["ETH"],
            "starts_at": iso(now), "ends_at": iso(now + timedelta(hours=1)),
            "prizes": [{"from_rank": 1, "to_rank": 1, "prize": "100 USD"}]})
        assert created.status_code == 201, created.text
        venue = venue_login(base)

        client = SseClient(port, STREAM).start()
        clients.append(client)
        assert client.status == 200 and client.headers["content-type"].startswith("text/event-stream")
        opening = client.next()
        assert opening.kind == "snapshot" and opening.data["competition"] == "live-cup"
        assert opening.data["entries"] == [] and opening.data["total"] == 0

        delays, updates = [], []
        for number, quantity in enumerate((2, 3)):  # each one tops the board
            trader = f"cup-{number}"
            posted = requests.post(f"{base}/v1/trades", headers=venue, timeout=5,
                                   json=trade(f"ct-{number}", trader, "ETH", str(quantity), "1000"))
            acked = time.monotonic()
            assert posted.status_code == 202, posted.text
            event = client.wait_for(has_trader(trader), timeout=5)
            updates.append(event)
            delays.append(event.at - acked)
            assert event.data["board"] == "comp:live-cup" and event.data["period"] == "all"
            assert event.data["rows"][0] == {"rank": 1, "previous_rank": None, "user_id": trader,
                                             "user_name": trader, "score": f"{quantity * 1000}.00"}
        assert max(delays) < 1.5, delays  # ~1 s: at most one 500 ms tick after the flush, with margin for CI
        # cup-0 only shifted down (same score): derived by the client from its rows, not sent
        assert [row["user_id"] for row in event.data["rows"]] == ["cup-1"] and not event.data["removed"]
        last_seen = event.id

        # outside the competition's symbols: the board does not move, no event
        requests.post(f"{base}/v1/trades", headers=venue, timeout=5, json=trade("ct-btc", "cup-9", "BTC", "9", "1000"))

        # disqualify the leader: the stream says it left and the other moved up
        dq = requests.post(f"{base}/v1/competitions/live-cup/disqualifications", headers=admin, timeout=5,
                           json={"user_id": "cup-1", "reason": "wash trading"})
        assert dq.status_code == 201, dq.text
        moved = client.wait_for(lambda e: e.kind == "update" and "cup-1" in e.data["removed"], timeout=5)
        assert moved.data["rows"] == [] and moved.data["total"] == 1  # cup-0 moves up to 1: derived
        assert apply_live_update(apply_live_update(opening.data["entries"], updates[0].data), updates[1].data) == [
            {"rank": 1, "user_id": "cup-1", "user_name": "cup-1", "score": "3000.00"},
            {"rank": 2, "user_id": "cup-0", "user_name": "cup-0", "score": "2000.00"}]
        assert apply_live_update([{"rank": 1, "user_id": "cup-1", "user_name": "cup-1", "score": "3000.00"},
                                  {"rank": 2, "user_id": "cup-0", "user_name": "cup-0", "score": "2000.00"}],
                                 moved.data) == [{"rank": 1, "user_id": "cup-0", "user_name": "cup-0",
                                                  "score": "2000.00"}]

        # a client that saw `last_seen` gets exactly what followed; the list agrees with the stream
        resumed = SseClient(port, STREAM, last_event_id=last_seen).start()
        clients.append(resumed)
        replay = resumed.next()
        assert (replay.kind, replay.id, replay.data) == ("update", moved.id, moved.data)
        listed = requests.get(f"{base}/v1/competitions/live-cup/leaderboard", timeout=5).json()
        assert [e["user_id"] for e in listed["entries"]] == ["cup-0"] and listed["entries"][0]["prize"] == "100 USD"

        missing = requests.get(f"{base}/v1/competitions/nope/stream", timeout=5)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "competition_not_found"
        posted_to = requests.post(f"{base}{STREAM}", timeout=5)
        assert posted_to.status_code == 405 and posted_to.headers["allow"] == "GET, HEAD"
    finally:
        for client in clients:
            client.close()
        codes = stop_processes(api, scheduler)
    assert codes == [0, 0]

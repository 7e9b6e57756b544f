"""The seeds' clients: go-leader-board (seed 000) and trading-leaderboard (seed 001) read shapes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from leaderboard.ranking.boards import Board, BoardRegistry

from .helpers import NOON, ManualClock, assert_error, board_of, drain, token_headers, write

NOW = NOON - timedelta(hours=2) + timedelta(seconds=30)  # near the real clock: see helpers.NOON
GAME = Board("game-1", "Game 1", "points", 0, "best", "game")


def _stamp(before_now: timedelta) -> str:
    return (NOW - before_now).strftime("%Y-%m-%dT%H:%M:%SZ")


# the seed's documented payloads, verbatim: the write test posts these (all-time reads do not depend on the date)
DOCUMENTED_SCORES = [
    {"game_id": 1, "user_id": 42, "score": 1000, "timestamp": "2026-11-22T10:00:00Z"},
    {"game_id": 1, "user_id": 7, "score": 1500, "timestamp": "2026-11-20T09:00:00Z"},
    {"game_id": 1, "user_id": 42, "score": 800, "timestamp": "2026-11-22T10:00:10Z"},  # best kept: 1000
    {"game_id": 1, "user_id": 9, "score": 1000, "timestamp": "2026-11-22T10:00:20Z"},
]
# the same payloads with their timestamps moved next to NOW (42 and 9 in the last minute, 7 two days and an hour
# before), for the window tests: real Redis expires the hour and day sets of dates long past
SEED_SCORES = [
    {**DOCUMENTED_SCORES[0], "timestamp": _stamp(timedelta(seconds=30))},
    {**DOCUMENTED_SCORES[1], "timestamp": _stamp(timedelta(days=2, hours=1, seconds=30))},
    {**DOCUMENTED_SCORES[2], "timestamp": _stamp(timedelta(seconds=20))},
    {**DOCUMENTED_SCORES[3], "timestamp": _stamp(timedelta(seconds=10))},
]


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "CLOCK": ManualClock(NOW)}


@pytest.fixture()
def game(redis_client):
    BoardRegistry(redis_client).create(GAME)
    for payload in SEED_SCORES:
        ts = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
        write(redis_client, GAME, str(payload["user_id"]), payload["score"], ts)
    return GAME


def test_top_has_the_seed_shape_all_time_by_default(client, game):
    body = client.get("/api/leaderboard/top/1?limit=10").json
    assert body == {
        "game_id": 1,
        "leaders": [{"user_id": 7, "score": 1500, "rank": 1}, {"user_id": 9, "score": 1000, "rank": 2},
                    {"user_id": 42, "score": 1000, "rank": 2}],
        "total_players": 3,
        "window": "all",
    }


def test_top_with_a_window_counts_only_that_window(client, game):
    body = client.get("/api/leaderboard/top/1?window=24h").json
    assert body["window"] == "24h" and body["total_players"] == 2
    assert [leader["user_id"] for leader in body["leaders"]] == [9, 42]
    assert client.get("/api/leaderboard/top/1?window=7d").json["total_players"] == 3


def test_rank_has_the_seed_shape(client, game):
    body = client.get("/api/leaderboard/rank/1/42?window=3d").json
    assert body == {"game_id": 1, "user_id": 42, "score": 1000, "rank": 2, "percentile": 66.67,
                    "total_players": 3, "window": "3d"}


def test_invalid_window_is_400_not_a_silent_all_time(client, game):
    assert_error(client.get("/api/leaderboard/top/1?window=1y"), 400, "invalid_window")
    assert_error(client.get("/api/leaderboard/rank/1/42?window=30d"), 400, "invalid_window")


def test_missing_player_and_unknown_game_are_404_json(client, game):
    assert_error(client.get("/api/leaderboard/rank/1/12345"), 404, "member_not_found")
    assert_error(client.get("/api/leaderboard/top/999"), 404, "board_not_found")
    assert_error(client.get("/api/leaderboard/top/1?limit=5000"), 400, "invalid_limit")


def test_health_has_the_seed_shape(client):
    body = client.get("/api/health").json
    assert set(body) == {"status", "version", "timestamp"} and body["status"] == "ok"
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None


@pytest.mark.parametrize("symbol", ["BTC", "btc", "bitcoin"])
def test_symbol_leaderboard_has_the_trading_seed_shape(client, redis_client, symbol):
    btc = board_of(redis_client, "btc")
    write(redis_client, btc, "brave-otter", 1_234_567, NOW)
    write(redis_client, btc, "calm-lynx", 5_000, NOW)
    write(redis_client, btc, "old-fox", 9_999_999, NOW - timedelta(days=1))  # yesterday: not today's board
    assert client.get(f"/leaderboard/{symbol}").json == [
        {"traderId": "brave-otter", "totalVolume": 12345.67, "rank": 1},
        {"traderId": "calm-lynx", "totalVolume": 50.0, "rank": 2},
    ]


def test_unknown_symbol_is_404_json(client):
    assert_error(client.get("/leaderboard/dogecoin"), 404, "symbol_not_found")


# --- POST /api/leaderboard/score: the seed's write, through the real write path ---


def test_seed_score_posts_keep_each_players_best_and_create_the_game(app, client, redis_client):

    service = token_headers(app, "venue", "service")
    for payload in DOCUMENTED_SCORES:
        response = client.post("/api/leaderboard/score", json=payload, headers=service)
        assert response.status_code == 200, response.json
        assert response.json == {"accepted": 1}
    # a client retry of the same payload counts once (and a best score is idempotent anyway)
    assert client.post("/api/leaderboard/score", json=DOCUMENTED_SCORES[0], headers=service).status_code == 200
    drain(app)
    assert client.get("/v1/leaderboards/game-1").json["board"] == "game-1"  # declared on first score
    assert redis_client.zscore("lb:{game-1}:all", "42") == 1000  # 800 later did not lower the best
    top = client.get("/api/leaderboard/top/1?limit=10").json
    # tie inside rank 2 in the documented order: member id, descending bytes ("9" > "42")
    assert [(e["user_id"], e["score"], e["rank"]) for e in top["leaders"]] == [(7, 1500, 1), (9, 1000, 2),
                                                                               (42, 1000, 2)]
    assert top["total_players"] == 3


def test_seed_score_needs_a_service_token_and_valid_fields(app, client, redis_client):

    trader = token_headers(app, "alice", "trader")
    assert_error(client.post("/api/leaderboard/score", json=SEED_SCORES[0]), 401)
    assert_error(client.post("/api/leaderboard/score", json=SEED_SCORES[0], headers=trader), 403, "forbidden")
    service = token_headers(app, "venue", "service")
    for bad in ({**SEED_SCORES[0], "score": -1}, {**SEED_SCORES[0], "score": 1.5},
                {**SEED_SCORES[0], "timestamp": "yesterday"}, {**SEED_SCORES[0], "extra": 1},
                {"game_id": 1, "score": 10}, {**SEED_SCORES[0], "game_id": "Not A Game!"}):
        assert_error(client.post("/api/leaderboard/score", json=bad, headers=service), 422, "validation_error")
    assert redis_client.hget("lb:boards", "game-1") is None  # nothing was declared by bad input

"""POST /v1/actions and POST /v1/scores: one action, one score; sum and best boards."""

from __future__ import annotations

import time

import pytest

from leaderboard import keys
from leaderboard.ranking.boards import Board, BoardRegistry

from .helpers import assert_error, drain, token_headers, zset


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "ACTION_TTL_SECONDS": 1, "MAX_SCORE": 1_000_000}


@pytest.fixture()
def alice(app):
    return token_headers(app, "alice", "trader")


def new_action(client, headers) -> str:
    response = client.post("/v1/actions", json={}, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["expires_at"].endswith("Z")
    return str(response.json["action_id"])


def post_score(client, headers, action_id, score, user_id="alice", **extra):
    return client.post("/v1/scores", json={"user_id": user_id, "score": score, "action_id": action_id, **extra},
                       headers=headers)


def test_a_score_with_an_action_lands_on_the_best_mode_scores_board(client, app, alice, redis_client):
    for score in (50, 70, 60):
        response = post_score(client, alice, new_action(client, alice), score)
        assert response.status_code == 202 and response.json == {"accepted": 1}
    drain(app)
    assert zset(redis_client, keys.all_time("scores")) == {"alice": 70}


def test_sum_mode_boards_add_scores(client, app, alice, redis_client):
    with app.app_context():
        from leaderboard.redis_conn import get_redis

        BoardRegistry(get_redis()).all()  # seed the defaults
        assert BoardRegistry(get_redis()).create(Board("quiz", "Quiz", "points", 0, "sum"))
    for score in (5, 7):
        assert post_score(client, alice, new_action(client, alice), score, board="quiz").status_code == 202
    drain(app)
    assert zset(redis_client, keys.all_time("quiz")) == {"alice": 12}


def test_action_reuse_is_409_and_an_exact_retry_is_202_counting_once(client, app, alice, redis_client):
    with app.app_context():
        from leaderboard.redis_conn import get_redis

        BoardRegistry(get_redis()).all()  # seed the defaults
        assert BoardRegistry(get_redis()).create(Board("quiz", "Quiz", "points", 0, "sum"))
    action_id = new_action(client, alice)
    assert post_score(client, alice, action_id, 10, board="quiz").status_code == 202
    retry = post_score(client, alice, action_id, 10, board="quiz")  # the client lost the first answer
    assert retry.status_code == 202 and retry.json == {"accepted": 1}
    assert_error(post_score(client, alice, action_id, 99, board="quiz"), 409, "action_used")
    drain(app)
    assert zset(redis_client, keys.all_time("quiz")) == {"alice": 10}  # a sum board: counted once


def test_unknown_expired_and_foreign_actions_are_refused(client, app, alice, redis_client):
    assert_error(post_score(client, alice, "no-such-action", 10), 404, "action_not_found")
    bob = token_headers(app, "bob", "trader")
    bobs = new_action(client, bob)
    assert_error(post_score(client, alice, bobs, 10), 403, "forbidden")
    # bob's action was not spent by alice's attempt
    assert post_score(client, bob, bobs, 3, user_id="bob").status_code == 202
    expiring = new_action(client, alice)
    time.sleep(1.1)
    assert_error(post_score(client, alice, expiring, 10), 410, "action_expired")
    drain(app)
    assert zset(redis_client, keys.all_time("scores")) == {"bob": 3}


def test_a_service_posts_for_anyone_with_its_own_actions(client, app, redis_client):
    service = token_headers(app, "game-backend", "service")
    assert post_score(client, service, new_action(client, service), 42, user_id="carol").status_code == 202
    drain(app)
    assert zset(redis_client, keys.all_time("scores")) == {"carol": 42}


def test_a_trader_cannot_score_for_someone_else(client, app, alice, redis_client):
    action_id = new_action(client, alice)
    assert_error(post_score(client, alice, action_id, 10, user_id="mallory"), 403, "forbidden")
    assert post_score(client, alice, action_id, 10).status_code == 202  # the action was not consumed


@pytest.mark.parametrize(("change", "field"), [
    ({"score": -1}, "score"), ({"score": 1_000_001}, "score"), ({"score": 1.5}, "score"), ({"score": "10"}, "score"),
    ({"score": True}, "score"), ({"user_id": "bad id"}, "user_id"), ({"action_id": ""}, "action_id"),
    ({"board": 7}, "board"),
])
def test_bad_score_fields_are_422_and_leave_the_action_unused(client, app, alice, redis_client, change, field):
    action_id = new_action(client, alice)
    body = {"user_id": "alice", "score": 5, "action_id": action_id, **change}
    response = client.post("/v1/scores", json=body, headers=alice)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == field
    assert post_score(client, alice, action_id, 5).status_code == 202


def test_unknown_board_is_404_and_volume_boards_take_no_scores(client, app, alice):
    action_id = new_action(client, alice)
    assert_error(post_score(client, alice, action_id, 5, board="nope"), 404, "board_not_found")
    assert_error(post_score(client, alice, action_id, 5, board="btc"), 422, "validation_error")
    assert_error(client.post("/v1/scores", json={"user_id": "alice", "score": 1}, headers=alice), 422,
                 "validation_error")


def test_actions_and_scores_need_a_token(client):
    assert_error(client.post("/v1/actions", json={}), 401, "unauthorized")
    assert_error(client.post("/v1/scores", json={"user_id": "a", "score": 1, "action_id": "x"}), 401, "unauthorized")

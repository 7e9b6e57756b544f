"""A competition end to end on a real 3-master Redis Cluster (REDIS_CLUSTER=1): trades through the API feed it,
join, disqualify, teams, finalization and delete-user all run (every script over one {comp:ID} slot; the
delete sweep visits every node), and no key of any node mentions the deleted member afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from leaderboard import keys
from leaderboard.competitions.finalize import finalize_due
from leaderboard.competitions.service import CompetitionRegistry

from .helpers import (
    STARTED_EARLIER,
    TEST_SECRET,
    competition_body,
    competition_member,
    competition_rows,
    create_competition,
    mentions,
    post_trades,
    token_headers,
    window,
)

pytestmark = pytest.mark.slow


@pytest.fixture()
def app_config(redis_cluster, tmp_path) -> dict[str, Any]:
    return {"REDIS_URL": redis_cluster.url, "REDIS_CLUSTER": True, "JWT_SECRET_KEY": TEST_SECRET,
            "DATA_DIR": tmp_path / "data", "DEV_MODE": False, **STARTED_EARLIER}


def test_a_competition_runs_and_a_user_is_deleted_on_a_cluster(client, app, redis_cluster):
    admin, service = token_headers(app, "boss", "admin"), token_headers(app, "venue", "service")
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("cl", starts, ends, min_volume="10", team_size=2))
    for name in ("alice", "bob", "carol"):
        assert client.post("/v1/competitions/cl/join", headers=token_headers(app, name, "trader")).status_code == 201
    post_trades(client, app, service, [("a", "alice", "30", starts + 1), ("b", "bob", "20", starts + 2),
                                       ("c", "carol", "5", starts + 3)])
    assert competition_rows(client, "cl") == [(1, "alice", "30.00"), (2, "bob", "20.00")]  # carol: 5.00 to qualify
    assert competition_member(client, "cl", "carol")["to_qualify"] == "5.00"
    team = client.post("/v1/competitions/cl/teams", json={"name": "A"}, headers=token_headers(app, "alice", "trader"))
    assert team.status_code == 201, team.json
    dq = client.post("/v1/competitions/cl/disqualifications", json={"user_id": "bob", "reason": "x"}, headers=admin)
    assert dq.status_code == 201
    assert competition_rows(client, "cl") == [(1, "alice", "30.00")]
    assert client.delete("/v1/users/alice", headers=admin).status_code == 200
    assert competition_rows(client, "cl") == []
    for port in redis_cluster.ports:  # no node keeps a key naming alice or a value mentioning her
        assert mentions(redis_cluster.node(port), b"alice") == []
    with app.app_context():
        from leaderboard.redis_conn import get_redis

        redis = get_redis()
        assert finalize_due(redis, CompetitionRegistry(redis, 0.001), ends + 1, 0) == ["cl"]
        assert redis.exists(keys.competition("cl", "final"))
    assert client.get("/v1/competitions/cl/results").json["total"] == 0

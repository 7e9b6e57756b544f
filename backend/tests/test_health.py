from __future__ import annotations

from leaderboard import create_app
from leaderboard.embedded_redis import EmbeddedRedis

from .helpers import TEST_SECRET


def test_health_is_alive_with_version(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["version"]


def test_ready_follows_redis_without_restarting_the_api(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    app = create_app({"REDIS_URL": server.url, "JWT_SECRET_KEY": TEST_SECRET, "DATA_DIR": tmp_path})
    try:
        client = app.test_client()
        assert client.get("/ready").status_code == 200
        server.stop()
        down = client.get("/ready")
        assert down.status_code == 503
        assert down.json["checks"]["redis"]["ok"] is False
        assert "redis" in down.json["reason"]
        server.start()  # same port, same directory
        assert client.get("/ready").status_code == 200
    finally:
        if "leaderboard.redis" in app.extensions:
            app.extensions["leaderboard.redis"].close()  # its sockets, before GC warns about them
        server.stop()

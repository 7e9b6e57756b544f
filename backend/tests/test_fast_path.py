"""The first page of a top list answered before Flask (api/fast_path.py): the same bytes and headers as the
Flask view, only from this process's fresh snapshot, never a stale page, and everything else left to Flask."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from leaderboard import metrics
from leaderboard.api.fast_path import ROUTE, FirstPageFastPath
from leaderboard.clock import iso
from leaderboard.security import SECURITY_HEADERS

from .helpers import NOON, Answer, asgi_request, assert_error, board_of, midnight_after, refresh, write


@pytest.fixture()
def app_config(read_app_config):
    return read_app_config  # the read tests' settings (conftest): a manual clock at NOON, small limits


@pytest.fixture()
def fast(app) -> FirstPageFastPath:
    assert isinstance(app.wsgi_app, FirstPageFastPath)
    return app.wsgi_app


@pytest.fixture()
def btc_board(app, redis_client):
    btc = board_of(redis_client, "btc")
    for n, cents in enumerate((500, 300, 300, 100)):
        write(redis_client, btc, f"trader-{n}", cents, NOON - timedelta(minutes=5))
    refresh(app, redis_client, NOON)
    return btc


def _comparable(response):
    headers = {k: v for k, v in response.headers.items() if k != "X-Request-ID"}
    return response.status_code, response.data, headers


def test_the_second_request_is_answered_before_flask_with_the_same_bytes_and_headers(client, fast, btc_board):
    first = client.get("/v1/leaderboards/btc?period=day&limit=3")
    assert fast.served == 0  # rendered by the Flask view
    second = client.get("/v1/leaderboards/btc?period=day&limit=3")
    assert fast.served == 1
    assert _comparable(second) == _comparable(first)
    assert [e["user_id"] for e in second.json["entries"]] == ["trader-0", "trader-2", "trader-1"]
    for name, value in SECURITY_HEADERS.items():
        assert second.headers[name] == value
    assert second.headers["X-Request-ID"] and second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    echoed = client.get("/v1/leaderboards/btc?limit=3&period=day", headers={"X-Request-ID": "poll-7"})
    assert fast.served == 2 and echoed.headers["X-Request-ID"] == "poll-7"
    assert echoed.data == first.data


def test_it_counts_in_the_request_metric(client, fast, btc_board):
    counter = metrics.HTTP_REQUESTS.labels(ROUTE, "GET", "200")
    client.get("/v1/leaderboards/btc")
    before = counter._value.get()
    client.get("/v1/leaderboards/btc")
    assert fast.served == 1
    assert counter._value.get() == before + 1


def test_a_new_snapshot_is_served_once_the_local_copy_expires_never_a_stale_page(client, fast, btc_board, app,
                                                                                   redis_client, clock):
    client.get("/v1/leaderboards/btc?period=day")
    assert client.get("/v1/leaderboards/btc?period=day").json["entries"][0]["user_id"] == "trader-0"
    write(redis_client, btc_board, "whale", 10_000, NOON)
    clock.advance(seconds=60)
    refresh(app, redis_client, clock.now)
    clock.advance(seconds=2.5)  # past the next refresh and its grace: the local copy is no longer fresh
    served = fast.served
    answer = client.get("/v1/leaderboards/btc?period=day").json
    assert fast.served == served  # Flask fetched the new snapshot and rendered it
    assert answer["entries"][0]["user_id"] == "whale" and answer["as_of"] == iso(NOON + timedelta(minutes=1))
    assert client.get("/v1/leaderboards/btc?period=day").json == answer
    assert fast.served == served + 1


def test_midnight_is_never_served_from_yesterdays_page(client, fast, btc_board, clock):
    client.get("/v1/leaderboards/btc?period=day")
    clock.now = NOON.replace(hour=23, minute=59, second=59, microsecond=500_000)
    clock.advance(seconds=1)  # 00:00:00.5 of the next day: the day snapshot no longer serves
    served = fast.served
    answer = client.get("/v1/leaderboards/btc?period=day").json
    assert fast.served == served
    assert answer["total"] == 0 and answer["resets_at"] == iso(midnight_after(1))


@pytest.mark.parametrize("query", ["period=day&limit=3&cursor=abc", "period=week", "limit=0", "limit=21",
                                   "limit=x", "period=day&period=all", "period=day&extra=1", "period=", "%zz"])
def test_anything_else_goes_to_flask(client, fast, btc_board, query):
    client.get("/v1/leaderboards/btc?period=day&limit=3")
    response = client.get(f"/v1/leaderboards/btc?{query}")
    assert fast.served == 0
    assert response.status_code in (200, 400)


def test_unknown_boards_head_and_other_routes_go_to_flask(client, fast, btc_board):
    client.get("/v1/leaderboards/btc")
    assert_error(client.get("/v1/leaderboards/nope"), 404, "board_not_found")
    assert client.head("/v1/leaderboards/btc").status_code == 200
    assert client.get("/v1/leaderboards/btc/members/trader-0?period=day").status_code == 200
    assert fast.served == 0


def test_cors_requests_go_to_flask_when_origins_are_configured(app_config, btc_board):
    from leaderboard import create_app

    app = create_app({**app_config, "CORS_ORIGINS": "http://dash.example"})
    client = app.test_client()
    client.get("/v1/leaderboards/btc")
    response = client.get("/v1/leaderboards/btc", headers={"Origin": "http://dash.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    assert client.get("/v1/leaderboards/btc").status_code == 200
    assert app.wsgi_app.served == 1  # only the request without an Origin


def _asgi_get(router, path: str, query: bytes, *headers: tuple[bytes, bytes]) -> Answer:
    """One GET through the ASGI router, as granian would call it: (status, headers, body)."""
    return asyncio.run(asgi_request(router, "GET", path, query, headers))


def test_the_asgi_router_answers_the_cached_page_natively_with_the_same_bytes_and_headers(client, fast, btc_board,
                                                                                           app):
    from leaderboard.live.asgi import Router

    router = Router(app, app.config["SETTINGS"])
    adapter, through_adapter = router.flask, []

    async def counting_adapter(scope, receive, send):
        through_adapter.append(scope["path"])
        await adapter(scope, receive, send)

    router.flask = counting_adapter
    flask = client.get("/v1/leaderboards/btc?period=day&limit=3")  # rendered by the view, cached in memory
    served = fast.served
    status, headers, body = _asgi_get(router, "/v1/leaderboards/btc", b"period=day&limit=3")
    assert fast.served == served + 1 and through_adapter == []  # natively on the loop: no a2wsgi thread
    assert (status, body) == (flask.status_code, flask.data)
    assert sorted((n.decode(), v.decode()) for n, v in headers if n != b"x-request-id") == \
        sorted((n.lower(), v) for n, v in flask.headers.items() if n != "X-Request-ID")
    status, _headers, body = _asgi_get(router, "/v1/leaderboards/btc", b"period=day&cursor=x")
    assert fast.served == served + 1 and status == 400  # anything else still reaches Flask through a2wsgi
    assert through_adapter == ["/v1/leaderboards/btc"]


def test_the_asgi_router_echoes_a_safe_request_id_and_sends_cors_requests_to_flask(app_config, btc_board):
    from leaderboard import create_app
    from leaderboard.live.asgi import Router

    app = create_app({**app_config, "CORS_ORIGINS": "http://dash.example"})
    app.test_client().get("/v1/leaderboards/btc")  # rendered by the view, cached in memory
    router = Router(app, app.config["SETTINGS"])
    status, headers, _body = _asgi_get(router, "/v1/leaderboards/btc", b"", (b"x-request-id", b"trace-42"))
    assert status == 200 and app.wsgi_app.served == 1 and (b"x-request-id", b"trace-42") in headers
    status, headers, _body = _asgi_get(router, "/v1/leaderboards/btc", b"", (b"x-request-id", b"bad id\n"))
    assert status == 200 and app.wsgi_app.served == 2 and (b"x-request-id", b"bad id\n") not in headers
    status, headers, _body = _asgi_get(router, "/v1/leaderboards/btc", b"", (b"origin", b"http://dash.example"))
    assert status == 200 and app.wsgi_app.served == 2  # Flask answered: it adds the CORS headers
    assert (b"access-control-allow-origin", b"http://dash.example") in headers

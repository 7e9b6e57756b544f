"""A member's rank and around-me view answered natively by the ASGI router (api/native_reads.py), computed off the
loop or from this process's micro-cache: the same status, headers and body as the Flask view, and everything
else (errors, odd queries or paths) answered by the view."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from leaderboard import keys
from leaderboard.clock import to_ms
from leaderboard.live.asgi import Router
from leaderboard.ranking.apply import APPLY_BOARD_BATCH_LUA, BoardWrite, build_board_batch
from leaderboard.ranking.periods import Period

from .helpers import NOON, Answer, asgi_request, board_of, drain, read_cache_of, refresh, token_headers, write


@pytest.fixture()
def app_config(read_app_config):
    return read_app_config  # the read tests' settings (conftest): a manual clock at NOON, small limits


Sent = Answer


@pytest.fixture()
def router(app, redis_client, client):
    btc = board_of(redis_client, "btc")
    for n, cents in enumerate((500, 300, 300, 100, 50)):
        write(redis_client, btc, f"trader-{n}", cents, NOON - timedelta(minutes=5))
    refresh(app, redis_client, NOON)
    assert client.get("/v1/leaderboards/btc").status_code == 200  # the process's read cache exists from here on
    router = Router(app, app.config["SETTINGS"])
    yield router
    router.members.pool.shutdown()


async def _get(router, path: str, query: bytes, raw_path: bytes | None = None) -> Sent:
    return await asgi_request(router, "GET", path, query, [(b"x-request-id", b"same-id")], raw_path=raw_path)


def both_ways(router, path: str, query: bytes = b"", raw_path: bytes | None = None) -> tuple[Sent, Sent, bool]:
    """(the router's answer, the view's answer through a2wsgi, whether the router answered natively)."""
    native = router.members
    served = native.served
    first = asyncio.run(_get(router, path, query, raw_path))
    natively = native.served == served + 1
    router.members = None
    try:
        second = asyncio.run(_get(router, path, query, raw_path))
    finally:
        router.members = native
    return first, second, natively


def test_member_views_are_answered_natively_with_the_views_bytes(router, app, redis_client):
    for path, query in (("/v1/leaderboards/btc/members/trader-3", b"period=day"),
                        ("/v1/leaderboards/btc/members/trader-1", b""),
                        ("/v1/leaderboards/btc/members/trader-2/around", b"period=day&size=3"),
                        ("/v1/leaderboards/btc/members/trader-4/around", b"")):
        app.extensions["leaderboard.read_cache"].clear()  # computed natively (in the pool), then cached
        native, flask, natively = both_ways(router, path, query)
        assert natively, path
        assert native == flask  # status, every header in order, body
        redis, router.members._redis = router.members._redis, "no Redis"  # a computation would fail now...
        native, flask, natively = both_ways(router, path, query)
        assert natively and native == flask, path  # ...and still answers: from the micro-cache
        router.members._redis = redis
    assert flask[0] == 200 and b'"user_id":"trader-4"' in flask[2]


def test_anything_else_is_answered_by_the_view(router):
    path = "/v1/leaderboards/btc/members/trader-3"
    cases = [  # (path, query, raw path, expected status)
        (path, b"period=year", None, 400),
        (path, b"period=day&period=all", None, 200),  # given twice: the view decides
        (path, b"period=day&limit=3", None, 200),  # a parameter the view ignores: the view answers
        (path + "/around", b"size=0", None, 400),
        ("/v1/leaderboards/btc/members/nobody", b"", None, 404),
        ("/v1/leaderboards/nope/members/trader-3", b"", None, 404),
        (path, b"period=day", b"/v1/leaderboards/btc/members/trader%2D3", 200),  # percent-escapes
        ("/v1/leaderboards/btc/members/" + "x" * 129, b"", None, 400),
    ]
    for case_path, query, raw, status in cases:
        native, flask, natively = both_ways(router, case_path, query, raw)
        assert not natively, (case_path, query)
        assert native[0] == flask[0] == status, (case_path, query, native)


def test_the_go_leader_board_reads_are_answered_natively_with_the_views_bytes(router, app, client, redis_client):
    """compat.py's top and rank (the go-leader-board mix's reads), natively: the same bytes as the views."""
    venue = token_headers(app, "venue", "service")
    for user, score in ((1, 50), (2, 70), (3, 70)):
        body = {"game_id": 7, "user_id": user, "score": score, "timestamp": (NOON - timedelta(minutes=5)).isoformat()}
        assert client.post("/api/leaderboard/score", json=body, headers=venue).status_code == 200
    drain(app)
    refresh(app, redis_client, NOON)
    for path, query in (("/api/leaderboard/top/7", b"limit=2&window=24h"), ("/api/leaderboard/top/7", b""),
                        ("/api/leaderboard/rank/7/2", b"window=all"), ("/api/leaderboard/rank/7/1", b"")):
        native, flask, natively = both_ways(router, path, query)
        assert natively, (path, query)
        assert native == flask and native[0] == 200, (path, query, native)
    for path, query, status in (("/api/leaderboard/top/7", b"window=1y", 400), ("/api/leaderboard/top/8", b"", 404),
                                ("/api/leaderboard/rank/7/9", b"", 404), ("/api/leaderboard/top/7", b"limit=0", 400)):
        native, flask, natively = both_ways(router, path, query)
        assert not natively and native[0] == flask[0] == status, (path, query, native)


def test_reads_waiting_together_are_computed_together_with_the_views_bytes(router, app, redis_client):
    """Member views past the list's snapshot (SNAPSHOT_TOP_N 50 here) asked at once: the reads waiting are
    computed in a few batches (per batch and board period one script call for the ranks, one pipeline of around
    scripts, one read of display names: not one round trip each), and every answer is the view's bytes, on a
    `shared` board with ties and a disqualified member, on a `first_reached` board, and the compat rank."""
    btc = board_of(redis_client, "btc")
    for n in range(5, 90):
        write(redis_client, btc, f"trader-{n}", 1000 - 10 * (n // 2), NOON - timedelta(minutes=5))  # pairs tie
    admin = token_headers(app, "boss", "admin")
    client = app.test_client()
    assert client.post("/v1/leaderboards/btc/disqualifications", json={"user_id": "trader-70", "reason": "spoofing"},
                       headers=admin).status_code == 201
    assert client.post("/v1/leaderboards", json={"id": "race", "mode": "best", "ties": "first_reached"},
                       headers=admin).status_code == 201
    writes = [BoardWrite(f"r{n}", f"runner-{n}", 100 + n // 3, to_ms(NOON) - 60_000 * (n % 7)) for n in range(60)]
    batch = build_board_batch("race", "best:first_reached", writes, marker_ttl=3600, history_days=7, now=NOON)
    redis_client.register_script(APPLY_BOARD_BATCH_LUA)(keys=batch.keys, args=batch.args)
    venue = token_headers(app, "venue", "service")
    for n in range(60):
        at = (NOON - timedelta(minutes=5)).isoformat()
        body = {"game_id": 1, "user_id": n, "score": 100 + n // 3, "timestamp": at}
        assert client.post("/api/leaderboard/score", json=body, headers=venue).status_code == 200
    drain(app)
    refresh(app, redis_client, NOON)
    assert board_of(redis_client, "race").ties == "first_reached"
    traders = [n for n in range(52, 80) if n != 70]
    requests = [(f"/v1/leaderboards/btc/members/trader-{n}", b"period=day") for n in traders]
    requests += [(f"/v1/leaderboards/btc/members/trader-{n}/around", b"period=day&size=5") for n in traders]
    requests += [(f"/v1/leaderboards/race/members/runner-{n}", b"period=all") for n in range(0, 8)]
    requests += [(f"/v1/leaderboards/race/members/runner-{n}/around", b"period=all&size=4") for n in range(0, 60, 5)]
    requests += [("/v1/leaderboards/btc/members/trader-60/around", b"period=all&size=3"),
                 ("/v1/leaderboards/btc/members/trader-61/around", b"period=24h&size=3"),
                 ("/v1/leaderboards/btc/members/trader-62", b"period=24h"),
                 ("/api/leaderboard/rank/1/7", b"window=24h"), ("/api/leaderboard/rank/1/58", b""),
                 ("/v1/leaderboards/game-1/members/3/around", b"period=day")]
    refused = [("/v1/leaderboards/btc/members/trader-70", b"period=day"),  # disqualified: the view's 404
               ("/v1/leaderboards/btc/members/nobody/around", b"period=day")]
    cache = read_cache_of(app)
    native = router.members
    router.members = None
    try:
        views = []
        for path, query in requests + refused:
            cache.clear()
            views.append(asyncio.run(_get(router, path, query)))
    finally:
        router.members = native
    cache.clear()
    redis_client.delete(keys.window_stamp("btc", Period.H24))  # a stale window: materialized, then read again
    before, served, batches = redis_client.info("commandstats"), native.served, native.batches

    async def together() -> list[Sent]:
        return list(await asyncio.gather(*(_get(router, path, query) for path, query in requests + refused)))

    answers = asyncio.run(together())
    after = redis_client.info("commandstats")
    assert [a[0] for a in answers] == [200] * len(requests) + [404, 404]
    assert answers == views  # status, every header in order, body: byte for byte
    assert native.served == served + len(requests)  # the refused ones: the view's
    made = native.batches - batches
    assert 2 <= made <= 4  # a batch per free pool thread, then the reads waiting meanwhile together

    def calls(command: str) -> int:
        return int(after[f"cmdstat_{command}"]["calls"] - before.get(f"cmdstat_{command}", {"calls": 0})["calls"])

    # one round trip each before: an HMGET of names per answer found (78), a rank script per rank past the snapshot
    # (37); now per batch (made) and board period (7 here) at most a stamp and a names read per kind of view, one rank
    # script (and a stale window's materialization)
    assert calls("hmget") <= 4 * 7 < len(requests) // 2
    arounds = sum(1 for path, _q in requests + refused if path.endswith("/around"))
    assert calls("evalsha") - arounds <= 4 * made < 37

"""POST /v1/trades answered natively by the ASGI router (api/native_trades.py): the same status, headers and
body as the Flask view for the same request, every unusual request (errors included) answered by the view with
the body replayed, concurrent requests sharing one claim round trip, and the event loop never waiting on Redis."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import orjson
import pytest

from leaderboard import keys, metrics
from leaderboard.auth.guards import verified_access_claims
from leaderboard.auth.revocations import RevocationList
from leaderboard.extensions import revocations as app_revocations
from leaderboard.ingest.writes import trade_write_id
from leaderboard.live.asgi import Router

from .helpers import Answer, all_time_totals, asgi_request, drain, metric_value, token_headers, trade

Sent = Answer


@pytest.fixture()
def router(app):
    router = Router(app, app.config["SETTINGS"])
    yield router
    router.trades.commits.close()


@pytest.fixture()
def venue(app, client):
    headers = token_headers(app, "venue", "service")
    warm = client.post("/v1/trades", json=trade("warm-up", "warm"), headers=headers)  # the view verifies it once
    assert warm.status_code == 202
    return headers


async def _post(router, body: bytes, headers: dict[str, str], query: bytes = b"", chunks: int = 1) -> Sent:
    """One POST through the router as granian would call it (the body in `chunks` messages)."""
    headers = {"Content-Length": str(len(body)), **headers}
    return await asgi_request(router, "POST", "/v1/trades", query,
                              [(k.lower().encode(), v.encode()) for k, v in headers.items()], body, chunks)


def both_ways(router, body: bytes, headers: dict[str, str], **kw) -> tuple[Sent, Sent, bool]:
    """(native router's answer, the view's answer through a2wsgi, whether the native path answered)."""
    native = router.trades
    served = native.served
    first = asyncio.run(_post(router, body, headers, **kw))
    answered_natively = native.served == served + 1
    router.trades = None  # the same router without the native path: every request through a2wsgi to Flask
    try:
        second = asyncio.run(_post(router, body, headers, **kw))
    finally:
        router.trades = native
    return first, second, answered_natively


def _json(**fields) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Request-ID": "same-request-id", **fields}


def test_the_native_answer_is_the_views_byte_for_byte_and_counts_once(router, venue, app, redis_client):
    before = metrics.exposition().decode()
    for number, body in enumerate([trade("n-1", "alice", quantity="2", price="100"),
                                   {"trades": [trade(f"b-{i}", "bob", "ETH", "1", "10") for i in range(3)]}]):
        native, flask, natively = both_ways(router, orjson.dumps(body), _json(**venue))
        assert natively, f"request {number} went to Flask"
        assert native == flask  # status, every header in order, body
        assert native[0] == 202 and orjson.loads(native[2]) == {"accepted": 1 if number == 0 else 3}
        assert (b"x-request-id", b"same-request-id") in native[1]
    drain(app)
    totals = all_time_totals(redis_client)  # each trade counted once although posted twice (same ids)
    assert totals["all-volume"]["alice"] == 20_000 and totals["all-volume"]["bob"] == 3_000
    after = metrics.exposition().decode()
    assert metric_value(after, "leaderboard_http_requests_total", route="/v1/trades", method="POST", status="202") - \
        metric_value(before, "leaderboard_http_requests_total", route="/v1/trades", method="POST", status="202") == 4


def test_every_unusual_request_is_answered_by_the_view_with_the_body_replayed(router, venue, app, auth, client):
    trader = auth.headers()
    other = trade("x-1", "someone-else")
    cases = {  # what -> (body, headers, keyword arguments, expected status)
        "malformed JSON": (b'{"trade_id": ', _json(**venue), {}, 400),
        "another content type": (orjson.dumps(other), {**_json(**venue), "Content-Type": "text/plain"}, {}, 415),
        "an invalid trade": (orjson.dumps({**other, "side": "hold"}), _json(**venue), {}, 422),
        "an invalid batch item": (orjson.dumps({"trades": [other, {**other, "price": "-1"}]}), _json(**venue), {}, 422),
        "no token": (orjson.dumps(other), _json(), {}, 401),
        "an unknown token": (orjson.dumps(other), _json(Authorization="Bearer not.a.token"), {}, 401),
        "a trader (rate limited) posting for another": (orjson.dumps(other), _json(**trader), {}, 403),
        "a query string": (orjson.dumps({**other, "side": "hold"}), _json(**venue), {"query": b"x=1"}, 422),
        "a body in several messages": (orjson.dumps({**other, "side": "x"}), _json(**venue), {"chunks": 3}, 422),
        "a body over MAX_CONTENT_LENGTH": (b" " * (app.config["SETTINGS"].MAX_CONTENT_LENGTH + 1) + b"{}",
                                           _json(**venue), {}, 413),
        "a batch too big to validate on the loop": (orjson.dumps({"trades": [trade(f"big-{n}", "zed") for n in range(
            60)]}), _json(**venue), {}, 202),
    }
    for what, (body, headers, kw, status) in cases.items():
        native, flask, natively = both_ways(router, body, headers, **kw)
        assert not natively, what
        assert native[0] == status, (what, native)
        assert _no_rate_limit_clock(native) == _no_rate_limit_clock(flask), what
    # a trader's own trade: the write limit counts it, so the view does (with its rate-limit headers)
    native, flask, natively = both_ways(router, orjson.dumps(trade("t-1", _user(trader, client))), _json(**trader))
    assert not natively and native[0] == flask[0] == 202
    assert any(name == b"x-ratelimit-limit" for name, _ in native[1])


def test_a_conflict_and_a_revoked_token_get_the_views_errors(router, venue, app, client, auth):
    body = orjson.dumps(trade("c-1", "carol", quantity="1", price="5"))
    assert asyncio.run(_post(router, body, _json(**venue)))[0] == 202
    conflicting = orjson.dumps(trade("c-1", "carol", quantity="1", price="6"))  # same length, other content
    native, flask, natively = both_ways(router, conflicting, _json(**venue))
    assert not natively and native == flask and native[0] == 409
    assert orjson.loads(native[2])["error"]["code"] == "trade_id_conflict"
    drain(app)
    assert app.extensions is not None
    session = auth.login(auth.create("svc-logout", "service"))
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert asyncio.run(_post(router, orjson.dumps(trade("c-2", "dan")), _json(**headers)))[0] == 202  # warm (view)
    assert asyncio.run(_post(router, orjson.dumps(trade("c-3", "dan")), _json(**headers)))[0] == 202
    assert client.post("/v1/logout", headers=headers).status_code == 200
    native, flask, natively = both_ways(router, orjson.dumps(trade("c-4", "dan")), _json(**headers))
    assert not natively and native == flask and native[0] == 401
    assert orjson.loads(native[2])["error"]["code"] == "token_revoked"


def test_the_not_revoked_answer_is_renewed_by_the_native_path_and_a_revocation_still_reaches_it(router, app, client,
                                                                                               redis_client):
    """The revocation list's cached "not revoked" answer lasts REVOCATION_CACHE_SECONDS. The native path asks again
    itself, off the loop: ahead of time once half of it has passed, and waiting when it has run out; before, every
    request of the token went to the view until the view had asked (under wrk -c64 a burst of requests through
    a2wsgi's one thread every 2 s: the single POST's p99, bench/PROFILE.md). A revocation made by another process
    still reaches it within the bound."""
    with app.app_context():
        revocations = app_revocations()  # the app's list (made on first use)
    revocations.cache_seconds = 0.4
    headers = token_headers(app, "venue-short", "service")
    assert client.post("/v1/trades", json=trade("r-0", "rita"), headers=headers).status_code == 202  # the view
    claims, _list = verified_access_claims(app, headers["Authorization"][len("Bearer "):])
    body = iter(orjson.dumps(trade(f"r-{n}", "rita")) for n in range(1, 10))
    served = router.trades.served

    time.sleep(0.45)  # run out: the request waits for the check, answered natively
    assert revocations.trusted_for(claims) == 0
    assert asyncio.run(_post(router, next(body), _json(**headers)))[0] == 202
    assert router.trades.served == served + 1 and revocations.trusted_for(claims) > 0.3

    time.sleep(0.25)  # past half-way: answered at once from the cached answer, which is renewed meanwhile
    assert 0 < revocations.trusted_for(claims) < 0.2
    assert asyncio.run(_post(router, next(body), _json(**headers)))[0] == 202
    assert router.trades.served == served + 2
    deadline = time.monotonic() + 2
    while revocations.trusted_for(claims) < 0.2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert revocations.trusted_for(claims) >= 0.2

    RevocationList(redis_client, 2.0, 3600).revoke_user("venue-short")  # another process logs it out everywhere
    time.sleep(0.45)
    native, flask, natively = both_ways(router, next(body), _json(**headers))
    assert not natively and native == flask and native[0] == 401
    assert orjson.loads(native[2])["error"]["code"] == "token_revoked"


def test_a_token_new_to_this_worker_is_checked_off_the_loop_and_its_first_requests_answered_natively(router, app,
                                                                                                     redis_client):
    """Before, the first requests of a token this worker had not verified all went to the view until one of them had
    verified it (under wrk -c64: every connection of the worker through a2wsgi's one thread at once); now the view's
    check (verify_access_token) runs once off the loop and they wait for it."""
    headers = token_headers(app, "venue-new", "service")  # minted elsewhere: never seen by this worker
    served = router.trades.served

    async def first() -> list[Sent]:
        return await asyncio.gather(*(_post(router, orjson.dumps(trade(f"v-{n}", "vic", quantity="1", price="2")),
                                            _json(**headers)) for n in range(20)))

    assert {status for status, _h, _b in asyncio.run(first())} == {202}
    assert router.trades.served == served + 20
    drain(app)
    assert all_time_totals(redis_client)["all-volume"]["vic"] == 20 * 200


def test_concurrent_requests_share_a_round_trip_and_are_each_counted_once(router, venue, app, redis_client):
    commits = router.trades.commits
    rounds, requests = commits.rounds, commits.requests

    async def many() -> list[Sent]:
        return await asyncio.gather(*(_post(router, orjson.dumps(trade(f"g-{n}", f"trader-{n % 7}", quantity="1",
                                                                       price="3")), _json(**venue))
                                      for n in range(40)))

    assert {status for status, _h, _b in asyncio.run(many())} == {202}
    assert commits.requests - requests == 40 and commits.rounds - rounds < 40
    drain(app)
    totals = all_time_totals(redis_client)["all-volume"]
    assert {member: cents for member, cents in totals.items() if member.startswith("trader-")} == \
        {f"trader-{m}": 300 * len(range(m, 40, 7)) for m in range(7)}
    assert redis_client.exists(keys.seen("all-volume", trade_write_id("trader-0", "g-0")))


def test_a_stalled_redis_never_blocks_the_event_loop(router, venue, app, redis_client, caplog):
    """The claim waits in the group commit's thread, bounded by REQUEST_REDIS_TIMEOUT_MS: the loop keeps serving
    (a ticker keeps ticking) and the trade is accepted unclaimed, as the view accepts it."""
    pause = threading.Thread(target=redis_client.execute_command, args=("CLIENT", "PAUSE", "1000"))

    async def scenario() -> tuple[Sent, int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        answer = await _post(router, orjson.dumps(trade("p-1", "erin")), _json(**venue))
        waited = time.monotonic() - started
        done.set()
        await ticking
        return answer, ticks, waited

    pause.start()
    time.sleep(0.1)
    with caplog.at_level(logging.INFO, logger="leaderboard.access"):
        (status, _headers, body), ticks, waited = asyncio.run(scenario())
    pause.join()
    assert status == 202 and orjson.loads(body) == {"accepted": 1}
    assert waited < 0.9 and ticks >= 3  # bounded by the 100 ms claim timeout; the loop ran meanwhile
    line = next(r for r in caplog.records if getattr(r, "event", "") == "http_request")
    assert (line.route, line.status, line.method, line.request_id) == ("/v1/trades", 202, "POST", "same-request-id")
    drain(app)
    assert all_time_totals(redis_client)["all-volume"]["erin"] == 15_038


def _no_rate_limit_clock(sent: Sent) -> Sent:
    """The answer without the rate limit window's state (the second request has one less left, and the two may
    straddle a window)."""
    status, headers, body = sent
    return status, [(n, b"-" if n in (b"x-ratelimit-reset", b"x-ratelimit-remaining") else v) for n, v in headers], body


def _user(headers: dict[str, str], client) -> str:
    return client.get("/v1/me", headers=headers).get_json()["username"]


def test_one_claim_call_decides_a_groups_requests_one_after_another(app, redis_client):
    """WriteClaims.claim_many (the group commit's claim): what claiming each request alone would give."""
    from datetime import UTC, datetime

    from leaderboard.api.write_path import current_claims
    from leaderboard.ingest.claims import WriteConflict
    from leaderboard.ingest.validation import parse_trades
    from leaderboard.ingest.writes import trade_write

    def writes(body: dict) -> list:
        return [trade_write(t) for t in parse_trades(body, datetime.now(UTC), 1000, 5, 10**13)]

    first = writes(trade("o-1", "olga", quantity="1", price="5"))
    requests = [first,
                writes(trade("o-1", "olga", quantity="1", price="6")),  # the same id, other content: 409
                first,  # an exact retry in the same group: accepted, claims nothing more
                writes({"trades": [trade("o-2", "olga"), trade("o-3", "olga"), trade("o-1", "olga", price="7")]}),
                writes({"trades": [trade("o-4", "olga"), trade("o-4", "olga", price="8")]})]  # twice in one request
    with app.app_context():
        outcomes = current_claims().claim_many(requests)
    assert [type(o).__name__ for o in outcomes] == ["list", "WriteConflict", "list", "WriteConflict", "WriteConflict"]
    assert len(outcomes[0]) == 1 and outcomes[2] == []
    assert [o.index for o in outcomes if isinstance(o, WriteConflict)] == [0, 2, 1]
    marker = keys.seen("all-volume", trade_write_id("olga", "o-2"))
    assert not redis_client.exists(marker)  # the refused batch set nothing


def test_the_go_leader_board_score_is_accepted_natively_with_the_views_bytes(router, venue, app, client, redis_client):
    """compat.py's POST /api/leaderboard/score (the mix's writes): natively once the game's board exists, with the
    view's answer; an unknown game (the view declares its board), an invalid score and an admin (whose writes the
    limit counts) go to the view."""
    when = "2026-01-02T03:04:05Z"
    first = {"game_id": 3, "user_id": 10, "score": 5, "timestamp": when}
    assert client.post("/api/leaderboard/score", json=first, headers=venue).status_code == 200  # declares game-3
    native_trades = router.trades

    def post(body: dict, headers: dict[str, str]) -> tuple[Sent, Sent, bool]:
        served = native_trades.served
        raw = orjson.dumps(body)

        async def both() -> tuple[Sent, Sent]:
            one = await asgi_request(router, "POST", "/api/leaderboard/score", b"", [
                (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                (b"x-request-id", b"same-request-id"), (b"authorization", headers["Authorization"].encode())], raw)
            router.trades = None
            try:
                return one, await asgi_request(router, "POST", "/api/leaderboard/score", b"", [
                    (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                    (b"x-request-id", b"same-request-id"), (b"authorization", headers["Authorization"].encode())], raw)
            finally:
                router.trades = native_trades

        native, flask = asyncio.run(both())
        return native, flask, native_trades.served == served + 1

    native, flask, natively = post({"game_id": 3, "user_id": 11, "score": 9, "timestamp": when}, venue)
    assert natively and native == flask and native[0] == 200 and orjson.loads(native[2]) == {"accepted": 1}
    admin = token_headers(app, "boss", "admin")
    assert client.post("/api/leaderboard/score", json={**first, "user_id": 99}, headers=admin).status_code == 200
    for body, headers, status in (({"game_id": 4, "user_id": 1, "score": 1}, venue, 200),  # a new game
                                  ({"game_id": 3, "user_id": 1, "score": -1}, venue, 422),
                                  ({"game_id": 3, "user_id": 1, "score": 1, "extra": 1}, venue, 422),
                                  ({"game_id": 3, "user_id": 12, "score": 2, "timestamp": when}, admin, 200)):
        native, flask, natively = post(body, headers)
        assert not natively and native[0] == flask[0] == status, (body, native)
    drain(app)
    scores = {m.decode(): int(s) for m, s in redis_client.zrange(keys.all_time("game-3"), 0, -1, withscores=True)}
    assert scores == {"10": 5, "11": 9, "12": 2, "99": 5}  # each counted once although posted twice (the same write id)

"""The read API: boards, top lists (ties, pages, cursors), member views, the read cache, midnight, windows,
archives, and the JSON errors of bad input."""

from __future__ import annotations

import base64
from datetime import timedelta

import orjson
import pytest

from leaderboard import keys
from leaderboard.clock import iso
from leaderboard.ranking.periods import day_bucket

from .helpers import (
    NOON,
    assert_error,
    board_of,
    day_of_noon,
    midnight_after,
    read_cache_of,
    refresh,
    settings_of,
    write,
)


@pytest.fixture()
def app_config(read_app_config):
    return read_app_config  # conftest: a manual clock at NOON, small limits


def entries(response):
    assert response.status_code == 200, response.json
    return [(e["rank"], e["user_id"], e["score"]) for e in response.json["entries"]]


# --- boards and symbols ---
def test_default_boards_are_seeded_and_listed_in_order(client):
    boards = client.get("/v1/leaderboards").json["boards"]
    assert [b["id"] for b in boards] == ["btc", "eth", "sol", "usdc", "arb", "all-volume", "scores"]
    btc = boards[0]
    assert btc == {"id": "btc", "title": "Bitcoin volume", "unit": "USD", "decimals": 2, "mode": "sum",
                   "ties": "shared", "kind": "symbol", "symbol": "BTC", "icon": "/assets/icons/btc.svg",
                   "periods": ["day", "24h", "3d", "7d", "all"]}
    icon = client.get(btc["icon"])
    assert icon.status_code == 200
    icon.close()
    assert boards[-1]["mode"] == "best" and boards[-1]["unit"] == "points" and boards[-1]["decimals"] == 0


def test_symbols_list(client):
    symbols = client.get("/v1/symbols").json["symbols"]
    assert [s["symbol"] for s in symbols] == ["BTC", "ETH", "SOL", "USDC", "ARB"]
    assert symbols[0]["name"] == "Bitcoin" and symbols[0]["board"] == "btc" and symbols[0]["slug"] == "bitcoin"


def test_admin_creates_a_board_once(client, auth, redis_client):
    admin = auth.headers(role="admin")
    created = client.post("/v1/leaderboards", json={"id": "cup-1", "title": "Cup", "mode": "best"}, headers=admin)
    assert created.status_code == 201
    assert created.json["id"] == "cup-1" and created.json["unit"] == "points" and created.json["mode"] == "best"
    assert "cup-1" in [b["id"] for b in client.get("/v1/leaderboards").json["boards"]]
    assert_error(client.post("/v1/leaderboards", json={"id": "cup-1"}, headers=admin), 409, "board_exists")
    assert client.get("/v1/leaderboards/cup-1").json["total"] == 0


@pytest.mark.parametrize("body, field", [
    ({"id": "Bad Id"}, "id"), ({"id": "x", "decimals": 9}, "decimals"), ({"id": "x", "mode": "max"}, "mode"),
    ({"id": "x", "color": "red"}, "unknown field(s)"),
])
def test_bad_board_is_422_and_creates_nothing(client, auth, redis_client, body, field):
    response = client.post("/v1/leaderboards", json=body, headers=auth.headers(role="admin"))
    assert_error(response, 422, "validation_error")
    assert field in response.json["error"]["message"]
    assert not redis_client.hexists(keys.boards_registry(), "x")


def test_only_admins_create_boards(client, auth):
    assert_error(client.post("/v1/leaderboards", json={"id": "mine"}, headers=auth.headers()), 403, "forbidden")
    assert_error(client.post("/v1/leaderboards", json={"id": "mine"}), 401)


# --- top lists ---
def test_ties_share_a_rank_the_next_rank_skips_and_order_inside_is_member_id_descending(client, redis_client):
    btc = board_of(redis_client, "btc")
    for member, cents in [("erin", 90_000), ("alice", 50_000), ("carol", 50_000), ("bob", 50_000), ("dave", 1)]:
        write(redis_client, btc, member, cents, NOON)
    listed = entries(client.get("/v1/leaderboards/btc?period=day&limit=10"))
    assert listed == [(1, "erin", "900.00"), (2, "carol", "500.00"), (2, "bob", "500.00"), (2, "alice", "500.00"),
                      (5, "dave", "0.01")]
    for member in ("alice", "bob", "carol"):
        view = client.get(f"/v1/leaderboards/btc/members/{member}?period=day").json
        assert view["rank"] == 2 and view["percentile"] == 80.0 and view["total"] == 5


def test_scores_are_exact_decimal_strings_in_major_units(client, redis_client):
    write(redis_client, board_of(redis_client, "btc"), "whale", 2**53 - 1, NOON)
    write(redis_client, board_of(redis_client, "scores"), "gamer", 1200, NOON)
    assert entries(client.get("/v1/leaderboards/btc?period=all")) == [(1, "whale", "90071992547409.91")]
    assert entries(client.get("/v1/leaderboards/scores?period=all")) == [(1, "gamer", "1200")]


def test_pages_of_one_snapshot_never_skip_or_repeat_even_when_scores_move(client, redis_client, clock):
    btc = board_of(redis_client, "btc")
    for i in range(25):
        write(redis_client, btc, f"t{i:02d}", 100 + i, NOON)
    first = client.get("/v1/leaderboards/btc?limit=10").json
    write(redis_client, btc, "t00", 10_000, NOON)  # would jump to the top of a live list
    seen, cursor = [e["user_id"] for e in first["entries"]], first["next_cursor"]
    while cursor:
        page = client.get(f"/v1/leaderboards/btc?limit=10&cursor={cursor}").json
        assert page["as_of"] == first["as_of"]
        seen += [e["user_id"] for e in page["entries"]]
        cursor = page["next_cursor"]
    assert seen == [f"t{i:02d}" for i in range(24, -1, -1)]


def _refreshed(app, redis_client, clock, seconds: float) -> None:
    """`seconds` later the scheduler (or the live ticker) stores a newer snapshot and the worker's copy is due."""
    clock.advance(seconds=seconds)
    refresh(app, redis_client, clock.now)
    clock.advance(seconds=2)


def test_a_cursor_keeps_paging_after_its_snapshot_is_replaced(client, redis_client, clock, app):
    """The next page of a replaced snapshot starts right after the last row served, with the newer ranks."""
    btc = board_of(redis_client, "btc")
    for i in range(8):
        write(redis_client, btc, f"m{i}", 100 + i, NOON)  # m7 (1.07) first ... m0 (1.00) last
    first = client.get("/v1/leaderboards/btc?limit=3").json
    assert [e["user_id"] for e in first["entries"]] == ["m7", "m6", "m5"]
    write(redis_client, btc, "newcomer", 1000, NOON)  # a new leader: every row moves down one rank
    write(redis_client, btc, "m6", 100, NOON)  # m6 (already served) moves up past m7 (2.06)
    _refreshed(app, redis_client, clock, 61)
    second = client.get(f"/v1/leaderboards/btc?limit=3&cursor={first['next_cursor']}").json
    assert second["as_of"] > first["as_of"]  # the newer snapshot, its ranks
    assert entries_of(second) == [(5, "m4", "1.04"), (6, "m3", "1.03"), (7, "m2", "1.02")]
    third = client.get(f"/v1/leaderboards/btc?limit=3&cursor={second['next_cursor']}").json  # same snapshot
    assert entries_of(third) == [(8, "m1", "1.01"), (9, "m0", "1.00")] and third["next_cursor"] is None


def entries_of(body):
    return [(e["rank"], e["user_id"], e["score"]) for e in body["entries"]]


def test_a_cursor_expires_after_cursor_ttl_or_when_the_day_board_resets(client, redis_client, clock, app):
    btc = board_of(redis_client, "btc")
    for i in range(4):
        write(redis_client, btc, f"m{i}", 100 + i, NOON)
    cursor = client.get("/v1/leaderboards/btc?limit=1").json["next_cursor"]
    _refreshed(app, redis_client, clock, settings_of(app).CURSOR_TTL_SECONDS - 30)
    assert entries_of(client.get(f"/v1/leaderboards/btc?limit=1&cursor={cursor}").json) == [(2, "m2", "1.02")]
    _refreshed(app, redis_client, clock, 60)  # now older than CURSOR_TTL_SECONDS
    expired = client.get(f"/v1/leaderboards/btc?limit=1&cursor={cursor}")
    assert_error(expired, 410, "cursor_expired")
    assert expired.json["error"]["details"]["as_of"] == client.get("/v1/leaderboards/btc?limit=1").json["as_of"]

    clock.now = midnight_after() - timedelta(minutes=1)  # a day board's cursor does not cross midnight
    write(redis_client, btc, "late", 5, clock.now)
    write(redis_client, btc, "later", 4, clock.now)
    refresh(app, redis_client, clock.now)
    cursor = client.get("/v1/leaderboards/btc?limit=1").json["next_cursor"]
    clock.advance(minutes=2)
    write(redis_client, btc, "early", 3, clock.now)
    write(redis_client, btc, "earlier", 2, clock.now)
    refresh(app, redis_client, clock.now)
    assert_error(client.get(f"/v1/leaderboards/btc?limit=1&cursor={cursor}"), 410, "cursor_expired")


def test_a_cursor_without_a_position_expires_with_its_snapshot(client, redis_client, clock, app):
    """Cursors cut before positions existed (or forged without one) still get the old clear 410."""
    btc = board_of(redis_client, "btc")
    write(redis_client, btc, "a", 1, NOON)
    write(redis_client, btc, "b", 2, NOON)
    issued = client.get("/v1/leaderboards/btc?limit=1").json["next_cursor"]
    fields = orjson.loads(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)))
    assert fields["p"] == [2, "b"]  # (score in minor units, member) of the last row served
    bare = base64.urlsafe_b64encode(orjson.dumps({k: v for k, v in fields.items() if k != "p"})).decode().rstrip("=")
    assert entries_of(client.get(f"/v1/leaderboards/btc?limit=1&cursor={bare}").json) == [(2, "a", "0.01")]
    _refreshed(app, redis_client, clock, 61)
    assert_error(client.get(f"/v1/leaderboards/btc?limit=1&cursor={bare}"), 410, "cursor_expired")
    for position in ([1], ["x", "b"], [2**63 + 5, "b"], [1, ""], [1, "m" * 129], [True, "b"], {"s": 1}):
        forged = base64.urlsafe_b64encode(orjson.dumps({**fields, "p": position})).decode().rstrip("=")
        assert_error(client.get(f"/v1/leaderboards/btc?limit=1&cursor={forged}"), 400, "invalid_cursor")


def test_lists_are_served_from_the_snapshot_and_touch_redis_once_per_refresh(client, redis_client, app, clock):
    btc = board_of(redis_client, "btc")
    write(redis_client, btc, "alice", 500, NOON)
    refresh(app, redis_client, NOON)
    client.get("/v1/leaderboards")  # the board registry is read (and cached) first
    redis_client.config_resetstat()
    for second in range(1, 60):
        clock.now = NOON + timedelta(seconds=second)
        body = client.get("/v1/leaderboards/btc?period=day").json
        assert body["as_of"] == iso(NOON)
        assert body["next_refresh_at"] == iso(NOON + timedelta(minutes=1))
        assert body["resets_at"] == iso(midnight_after(0))
        assert body["source"] == "snapshot"
    stats = redis_client.info("commandstats")
    assert {k: v["calls"] for k, v in stats.items() if not k.startswith(("cmdstat_info", "cmdstat_config"))} == {
        "cmdstat_hget": 1  # the one snapshot read of this worker for this refresh
    }
    write(redis_client, btc, "bob", 900, NOON + timedelta(seconds=30))
    assert entries(client.get("/v1/leaderboards/btc")) == [(1, "alice", "5.00")]  # still the snapshot
    refresh(app, redis_client, NOON + timedelta(seconds=60))
    clock.now = NOON + timedelta(seconds=62)  # next refresh + grace: the worker asks Redis again
    body = client.get("/v1/leaderboards/btc").json
    assert body["as_of"] == iso(NOON + timedelta(minutes=1))
    assert body["next_refresh_at"] == iso(NOON + timedelta(minutes=2))
    assert [e["user_id"] for e in body["entries"]] == ["bob", "alice"]


def test_without_a_snapshot_the_list_is_read_live_and_says_so(client, redis_client, clock):
    write(redis_client, board_of(redis_client, "eth"), "alice", 500, NOON)
    clock.advance(seconds=7)
    body = client.get("/v1/leaderboards/eth?period=7d").json
    assert body["source"] == "live" and body["as_of"] == iso(NOON + timedelta(seconds=7))
    assert entries(client.get("/v1/leaderboards/eth?period=7d")) == [(1, "alice", "5.00")]


def test_user_name_comes_from_registered_display_names(client, auth, redis_client):
    auth.register("alice", display_name="Alice A.")
    write(redis_client, board_of(redis_client, "btc"), "alice", 5, NOON)
    write(redis_client, board_of(redis_client, "btc"), "0xdead", 4, NOON)
    body = client.get("/v1/leaderboards/btc").json
    assert [(e["user_id"], e["user_name"]) for e in body["entries"]] == [("alice", "Alice A."), ("0xdead", "0xdead")]
    assert client.get("/v1/leaderboards/btc/members/alice").json["user_name"] == "Alice A."


# --- member views ---
def test_around_me_is_full_at_the_edges(client, redis_client):
    btc = board_of(redis_client, "btc")
    for i in range(10):
        write(redis_client, btc, f"m{i}", 100 * (i + 1), NOON)  # m9 leads
    top = client.get("/v1/leaderboards/btc/members/m9/around?size=4").json
    assert [e["user_id"] for e in top["entries"]] == ["m9", "m8", "m7", "m6"]
    middle = client.get("/v1/leaderboards/btc/members/m5/around?size=3").json
    assert [(e["rank"], e["user_id"]) for e in middle["entries"]] == [(4, "m6"), (5, "m5"), (6, "m4")]
    bottom = client.get("/v1/leaderboards/btc/members/m0/around?size=4").json
    assert [e["rank"] for e in bottom["entries"]] == [7, 8, 9, 10] and bottom["total"] == 10


def test_member_list_ranks_friends_and_names_the_missing(client, redis_client):
    btc = board_of(redis_client, "btc")
    for member, value in [("a", 3), ("b", 9), ("c", 3)]:
        write(redis_client, btc, member, value, NOON)
    body = client.get("/v1/leaderboards/btc/members?ids=a,zz,b,a,c").json
    assert [(e["rank"], e["user_id"]) for e in body["entries"]] == [(1, "b"), (2, "c"), (2, "a")]
    assert body["missing"] == ["zz"]


def test_the_rank_card_is_the_lists_own_row_and_follows_each_new_snapshot(client, redis_client, clock, app):
    """Card, list and member count share one as_of; a member the snapshot does not hold yet is read live
    (newer than the list, never older)."""
    btc = board_of(redis_client, "btc")
    write(redis_client, btc, "a", 3, NOON)
    write(redis_client, btc, "b", 5, NOON)
    listed = client.get("/v1/leaderboards/btc").json

    def card(member):
        body = client.get(f"/v1/leaderboards/btc/members/{member}").json
        return body["rank"], body["score"], body["total"], body["as_of"]

    assert card("a") == (2, "0.03", 2, listed["as_of"])
    write(redis_client, btc, "a", 3, NOON)  # 0.06: passes b once a snapshot covers it
    write(redis_client, btc, "newbie", 1, NOON)
    clock.advance(seconds=1.01)  # past the member micro-cache
    assert card("a") == (2, "0.03", 2, listed["as_of"])  # exactly the row the list beside it shows
    friends = client.get("/v1/leaderboards/btc/members?ids=a,b").json  # the same rows for a list of members
    assert [(e["rank"], e["user_id"], e["score"]) for e in friends["entries"]] == [(1, "b", "0.05"), (2, "a", "0.03")]
    assert (friends["total"], friends["as_of"]) == (2, listed["as_of"])
    rank, score, total, as_of = card("newbie")  # not in the list's snapshot: live, newer
    assert (rank, score, total) == (3, "0.01", 3) and as_of > listed["as_of"]
    assert client.get("/v1/leaderboards/btc/members?ids=a,newbie").json["total"] == 3  # one it lacks: all live
    _refreshed(app, redis_client, clock, 61)  # the live ticker (or the refresh) stores a newer snapshot
    listed = client.get("/v1/leaderboards/btc").json
    assert card("a") == (1, "0.06", 3, listed["as_of"]) and entries_of(listed)[0] == (1, "a", "0.06")


def test_member_views_below_the_snapshot_are_read_live_and_micro_cached_per_worker(client, redis_client, clock):
    btc = board_of(redis_client, "btc")
    for i in range(50):  # SNAPSHOT_TOP_N here
        write(redis_client, btc, f"top{i:02d}", 1000 + i, NOON)
    write(redis_client, btc, "a", 3, NOON)
    assert client.get("/v1/leaderboards/btc").json["total"] == 51
    assert client.get("/v1/leaderboards/btc/members/a").json["score"] == "0.03"
    write(redis_client, btc, "a", 3, NOON)
    assert client.get("/v1/leaderboards/btc/members/a").json["score"] == "0.03"
    clock.advance(seconds=1.01)
    assert client.get("/v1/leaderboards/btc/members/a").json["score"] == "0.06"


# --- midnight, windows, archives ---
def test_midnight_writes_land_in_their_own_day_and_yesterday_is_history(client, redis_client, app, clock):
    btc = board_of(redis_client, "btc")
    before = NOON.replace(hour=23, minute=59, second=59, microsecond=900_000)
    after = before + timedelta(milliseconds=200)
    clock.now = before - timedelta(seconds=30)
    write(redis_client, btc, "late", 700, before - timedelta(seconds=31))
    refresh(app, redis_client, clock.now)
    assert entries(client.get("/v1/leaderboards/btc")) == [(1, "late", "7.00")]  # cached in this worker
    clock.now = after + timedelta(seconds=1)
    write(redis_client, btc, "owl", 100, before)  # flushed together, after midnight
    write(redis_client, btc, "lark", 200, after)
    today = client.get("/v1/leaderboards/btc?period=day").json  # before any scheduler refresh
    assert [(e["user_id"], e["score"]) for e in today["entries"]] == [("lark", "2.00")]
    assert today["resets_at"] == iso(midnight_after(1))
    assert client.get("/v1/leaderboards/btc/members/owl?period=day").status_code == 404
    assert client.get("/v1/leaderboards/btc/members/owl?period=24h").json["score"] == "1.00"
    history = client.get(f"/v1/leaderboards/btc/history/{day_of_noon()}").json
    assert history["date"] == day_of_noon() and history["period"] == "day"
    assert "resets_at" not in history  # a finished day resets no more; nor do the rolling windows and all time
    windows = [client.get(f"/v1/leaderboards/btc?period={p}").json for p in ("24h", "3d", "7d", "all")]
    assert not [w for w in windows if "resets_at" in w]
    assert [(e["user_id"], e["score"]) for e in history["entries"]] == [("late", "7.00"), ("owl", "1.00")]
    assert_error(client.get(f"/v1/leaderboards/btc/history/{day_of_noon(1)}"), 404, "history_not_found")  # today
    assert_error(client.get(f"/v1/leaderboards/btc/history/{day_of_noon(-2)}"), 404, "history_not_found")


def test_rolling_windows_drop_a_write_when_its_hour_leaves_the_window(client, redis_client, app, clock):
    eth = board_of(redis_client, "eth")
    written = NOON.replace(minute=59, second=59)  # hour bucket 12:00
    write(redis_client, eth, "early", 5, written)
    for period, hours in (("24h", 24), ("3d", 72), ("7d", 168)):
        read_cache_of(app) and read_cache_of(app).clear()
        clock.now = NOON + timedelta(hours=hours) - timedelta(milliseconds=1)  # the last instant it counts
        refresh(app, redis_client, clock.now)
        assert entries(client.get(f"/v1/leaderboards/eth?period={period}")) == [(1, "early", "0.05")]
        assert client.get(f"/v1/leaderboards/eth/members/early?period={period}").status_code == 200
        clock.now = NOON + timedelta(hours=hours)  # the hour after: gone, even before the next refresh
        read_cache_of(app).clear()
        assert entries(client.get(f"/v1/leaderboards/eth?period={period}")) == []
        assert_error(client.get(f"/v1/leaderboards/eth/members/early?period={period}"), 404, "member_not_found")
        assert entries(client.get("/v1/leaderboards/eth?period=all")) == [(1, "early", "0.05")]


def test_rollover_archives_yesterday_and_the_archive_stays_readable_history_days(client, redis_client, app, clock):
    from leaderboard.jobs import tasks
    from leaderboard.ranking.boards import BoardRegistry

    btc = board_of(redis_client, "btc")
    write(redis_client, btc, "alice", 100, NOON)
    clock.now = NOON + timedelta(days=1)
    settings = app.config["SETTINGS"]
    result = tasks.rollover(redis_client, BoardRegistry(redis_client).all().values(), clock.now, settings)
    assert result["archived"] == 1
    assert redis_client.zrange(keys.history_index("btc"), 0, -1) == [day_of_noon().encode()]
    assert tasks.rollover(redis_client, BoardRegistry(redis_client).all().values(), clock.now, settings) == result
    assert redis_client.ttl(keys.day("btc", day_bucket(NOON))) > 29 * 86400
    clock.now = NOON + timedelta(days=settings.HISTORY_DAYS)
    assert client.get(f"/v1/leaderboards/btc/history/{day_of_noon()}").status_code == 200
    clock.now = NOON + timedelta(days=settings.HISTORY_DAYS + 1)
    assert_error(client.get(f"/v1/leaderboards/btc/history/{day_of_noon()}"), 404, "history_not_found")


# --- /v1/scores (seed 003) ---
def test_scores_list_has_the_seed_003_shape(client, redis_client, auth):
    auth.register("alice", display_name="Alice")
    scores = board_of(redis_client, "scores")
    write(redis_client, scores, "alice", 100, NOON)
    write(redis_client, scores, "alice", 40, NOON)  # best score kept
    write(redis_client, scores, "42", 70, NOON)
    assert client.get("/v1/scores?board=scores&limit=10").json == [
        {"user_id": "alice", "user_name": "Alice", "rank": 1, "score": 100},
        {"user_id": "42", "user_name": "42", "rank": 2, "score": 70},
    ]


# --- bad input ---
@pytest.mark.parametrize("url, status, code", [
    ("/v1/leaderboards/nope", 404, "board_not_found"),
    ("/v1/leaderboards/nope/members/a", 404, "board_not_found"),
    ("/v1/leaderboards/btc?period=week", 400, "invalid_period"),
    ("/v1/leaderboards/btc?period=", 400, "invalid_period"),
    ("/v1/leaderboards/btc?limit=0", 400, "invalid_limit"),
    ("/v1/leaderboards/btc?limit=21", 400, "invalid_limit"),
    ("/v1/leaderboards/btc?limit=ten", 400, "invalid_limit"),
    ("/v1/leaderboards/btc?limit=-1", 400, "invalid_limit"),
    ("/v1/leaderboards/btc?cursor=garbage", 400, "invalid_cursor"),
    ("/v1/leaderboards/btc?cursor=" + "A" * 600, 400, "invalid_cursor"),
    ("/v1/leaderboards/btc/members/nobody", 404, "member_not_found"),
    ("/v1/leaderboards/btc/members/nobody/around", 404, "member_not_found"),
    ("/v1/leaderboards/btc/members/a/around?size=0", 400, "invalid_size"),
    ("/v1/leaderboards/btc/members/" + "x" * 129, 400, "invalid_member_id"),
    ("/v1/leaderboards/btc/members?ids=", 400, "invalid_ids"),
    ("/v1/leaderboards/btc/members?ids=" + ",".join(f"u{i}" for i in range(101)), 400, "too_many_ids"),
    ("/v1/leaderboards/btc/members?ids=a,b%20c", 400, "invalid_member_id"),
    ("/v1/leaderboards/btc/history/2026-13-01", 400, "invalid_date"),
    ("/v1/leaderboards/btc/history/yesterday", 400, "invalid_date"),
    ("/v1/scores?board=nope", 404, "board_not_found"),
])
def test_bad_reads_are_4xx_json(client, url, status, code):
    assert_error(client.get(url), status, code)


def test_a_cursor_of_another_board_or_period_is_400(client, redis_client):
    for member in ("a", "b"):
        write(redis_client, board_of(redis_client, "btc"), member, 1, NOON)
    cursor = client.get("/v1/leaderboards/btc?limit=1").json["next_cursor"]
    assert cursor
    assert_error(client.get(f"/v1/leaderboards/eth?limit=1&cursor={cursor}"), 400, "invalid_cursor")
    assert_error(client.get(f"/v1/leaderboards/btc?period=all&limit=1&cursor={cursor}"), 400, "invalid_cursor")

"""Competitions through the real app, WAL and flusher into a real Redis: the window by event time and the
grace, registration, qualification, prizes, ties, metrics out of order, moderation and teams."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leaderboard.competitions.errors import CompetitionError

from .helpers import (
    STARTED_EARLIER,
    assert_error,
    competition_body,
    competition_member,
    competition_rows,
    create_competition,
    hours_ago,
    iso_of_ms,
    mentions,
    post_trades,
    token_headers,
    window,
)


@pytest.fixture()
def app_config(app_config):
    return {**app_config, **STARTED_EARLIER}


@pytest.fixture()
def admin(app):
    return token_headers(app, "boss", "admin")


@pytest.fixture()
def service(app):
    return token_headers(app, "venue", "service")


def test_only_trades_dated_inside_the_window_count_and_late_ones_during_the_grace_do(client, app, admin, service):
    starts, ends = window(-120, 60)  # ended a minute ago: we are inside the grace (FINALIZE_GRACE_SECONDS=300)
    create_competition(client, admin, competition_body("w", starts, ends, registration="none"))
    post_trades(client, app, service, [
        ("before", "early", "100", starts - 1),  # 1 ms before the start: no
        ("first", "alice", "10", starts),  # at the start: yes
        ("last", "bob", "20", ends - 1),  # the last ms: yes (it arrives now, during the grace)
        ("at-end", "carol", "300", ends),  # at the end: no
    ])
    assert competition_rows(client, "w") == [(1, "bob", "20.00"), (2, "alice", "10.00")]
    assert competition_member(client, "w", "early")["score"] is None
    detail = client.get("/v1/competitions/w").json
    assert detail["status"] == "finalizing" and detail["participants"] == 2


def test_after_the_grace_a_trade_dated_inside_no_longer_counts(client, app, admin, service):
    starts, ends = window(-1000, 100)  # ended 900 s ago, grace 300 s
    create_competition(client, admin, competition_body("late", starts, ends, registration="none"))
    post_trades(client, app, service, [("t", "alice", "10", starts + 5)])
    assert competition_rows(client, "late") == []


def test_open_registration_ranks_only_participants_and_a_late_joiner_brings_its_window_volume(
        client, app, admin, service):
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("open", starts, ends))
    post_trades(client, app, service, [("a1", "alice", "50", starts + 1), ("b1", "bob", "70", starts + 2)])
    alice = token_headers(app, "alice", "trader")
    assert client.post("/v1/competitions/open/join", headers=alice).status_code == 201
    assert client.post("/v1/competitions/open/join", headers=alice).status_code == 200  # idempotent
    assert competition_rows(client, "open") == [(1, "alice", "50.00")]
    assert competition_member(client, "open", "bob")["participant"] is False
    assert client.post("/v1/competitions/open/join", headers=token_headers(app, "bob", "trader")).status_code == 201
    assert competition_rows(client, "open") == [(1, "bob", "70.00"), (2, "alice", "50.00")]
    assert client.get("/v1/competitions/open").json["participants"] == 2
    assert_error(client.delete("/v1/competitions/open/join", headers=alice), 409, "competition_started")


def test_leave_before_the_start_and_join_refused_after_the_end(client, app, admin):
    starts, ends = window(3600, 3600)
    create_competition(client, admin, competition_body("soon", starts, ends))
    alice = token_headers(app, "alice", "trader")
    assert client.post("/v1/competitions/soon/join", headers=alice).status_code == 201
    left = client.delete("/v1/competitions/soon/join", headers=alice)
    assert left.status_code == 200 and left.json["joined"] is False
    assert_error(client.delete("/v1/competitions/soon/join", headers=alice), 404, "not_a_participant")
    past_starts, past_ends = window(-7200, 3600)
    create_competition(client, admin, competition_body("past", past_starts, past_ends))
    assert_error(client.post("/v1/competitions/past/join", headers=alice), 409, "competition_ended")


def test_qualification_by_min_volume_and_to_qualify(client, app, admin, service):
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("q", starts, ends, registration="none", min_volume="100"))
    post_trades(client, app, service, [("a1", "alice", "60", starts + 1), ("b1", "bob", "150", starts + 1)])
    view = competition_member(client, "q", "alice")
    assert (view["qualified"], view["rank"], view["volume"], view["to_qualify"]) == (False, None, "60.00", "40.00")
    assert competition_rows(client, "q") == [(1, "bob", "150.00")]
    post_trades(client, app, service, [("a2", "alice", "40", starts + 2)])
    view = competition_member(client, "q", "alice")
    assert (view["qualified"], view["rank"], view["to_qualify"]) == (True, 2, "0.00")


def test_prizes_follow_the_rank_and_symbols_filter_trades(client, app, admin, service):
    starts, ends = window(-60, 3600)
    prizes = [{"from_rank": 1, "to_rank": 1, "prize": "1000 USDT"}, {"from_rank": 2, "to_rank": 3, "prize": "100 USDT"}]
    create_competition(client, admin,
                       competition_body("p", starts, ends, registration="none", prizes=prizes, symbols=["ETH"]))
    post_trades(client, app, service, [(f"e{i}", f"t{i}", str(10 * (i + 1)), starts + i) for i in range(4)],
                symbol="ETH")
    post_trades(client, app, service, [("btc", "t0", "1000", starts + 9)])  # BTC does not count here
    response = client.get("/v1/competitions/p/leaderboard").json
    assert [(e["user_id"], e["prize"]) for e in response["entries"]] == [
        ("t3", "1000 USDT"), ("t2", "100 USDT"), ("t1", "100 USDT"), ("t0", None)]
    assert competition_member(client, "p", "t2")["prize"] == "100 USDT"


def test_first_reached_orders_equal_scores_by_who_got_there_first_and_shared_keeps_1_1_3(
        client, app, admin, service):
    starts, ends = window(-600, 3600)
    create_competition(client, admin, competition_body("fr", starts, ends, registration="none"))
    create_competition(client, admin, competition_body("sh", starts, ends, registration="none", ties="shared"))
    post_trades(client, app, service, [
        ("a1", "alice", "30", starts + 50_000), ("a2", "alice", "70", starts + 90_000),  # reaches 100 at +90 s
        ("b1", "bob", "100", starts + 60_000),  # reaches 100 at +60 s: first
        ("c1", "carol", "20", starts + 1_000),
    ])
    assert competition_rows(client, "fr") == [(1, "bob", "100.00"), (2, "alice", "100.00"), (3, "carol", "20.00")]
    assert competition_rows(client, "sh") == [(1, "bob", "100.00"), (1, "alice", "100.00"), (3, "carol", "20.00")]
    assert competition_member(client, "fr", "alice")["rank"] == 2
    assert competition_member(client, "sh", "alice")["rank"] == 1


def test_disqualify_moves_the_others_up_reinstate_restores_and_both_are_audited(client, app, admin, service):
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("dq", starts, ends, registration="none"))
    post_trades(client, app, service, [("a", "alice", "30", starts + 1), ("b", "bob", "20", starts + 1)])
    response = client.post("/v1/competitions/dq/disqualifications", json={"user_id": "alice", "reason": "wash"},
                           headers=admin)
    assert response.status_code == 201, response.json
    assert competition_rows(client, "dq") == [(1, "bob", "20.00")]
    assert competition_member(client, "dq", "alice")["disqualified"]["reason"] == "wash"
    post_trades(client, app, service, [("a2", "alice", "1", starts + 2)])  # still counted, still not ranked
    assert competition_rows(client, "dq") == [(1, "bob", "20.00")]
    assert client.delete("/v1/competitions/dq/disqualifications/alice", headers=admin).status_code == 200
    assert competition_rows(client, "dq") == [(1, "alice", "31.00"), (2, "bob", "20.00")]
    trail = client.get("/v1/competitions/dq/audit", headers=admin).json["entries"]
    assert [(e["action"], e["member"], e["by"]) for e in trail] == [
        ("disqualify", "alice", "boss"), ("reinstate", "alice", "boss")]
    assert_error(client.delete("/v1/competitions/dq/disqualifications/alice", headers=admin), 404, "not_disqualified")
    trader = token_headers(app, "mallory", "trader")
    assert_error(client.post("/v1/competitions/dq/disqualifications", json={"user_id": "bob", "reason": "x"},
                             headers=trader), 403)


def test_pnl_updates_out_of_order_last_as_of_wins_exactly_once(client, app, admin, service):
    starts, ends = window(-600, 3600)
    create_competition(client, admin, {**competition_body("pnl", starts, ends, registration="none"), "metric": "pnl"})
    url = "/v1/competitions/pnl/metrics"

    def post(entries):
        response = client.post(url, json={"entries": entries}, headers=service)
        assert response.status_code == 200, response.json
        return response.json["counted"]

    assert post([{"trader_id": "alice", "value": "-50.25", "as_of": iso_of_ms(starts + 20_000)},
                 {"trader_id": "bob", "value": 10, "as_of": iso_of_ms(starts + 5_000)}]) == 2
    assert post([{"trader_id": "alice", "value": "999", "as_of": iso_of_ms(starts + 10_000)}]) == 0  # older: ignored
    assert post([{"trader_id": "alice", "value": "999", "as_of": iso_of_ms(starts + 20_000)}]) == 0  # same as_of: once
    assert competition_rows(client, "pnl") == [(1, "bob", "10.00"), (2, "alice", "-50.25")]
    assert post([{"trader_id": "alice", "value": "12", "as_of": iso_of_ms(starts + 30_000)}]) == 1
    assert competition_rows(client, "pnl") == [(1, "alice", "12.00"), (2, "bob", "10.00")]
    bad = client.post(url, json={"entries": [{"trader_id": "a", "value": "1", "as_of": iso_of_ms(ends)}]},
                      headers=service)
    assert_error(bad, 422, "validation_error")
    assert bad.json["error"]["details"]["field"] == "as_of"
    assert_error(client.post(url, json={"entries": [{"trader_id": "a", "value": "1e3", "as_of": iso_of_ms(starts)}]},
                             headers=service), 422)
    assert_error(client.post(url, json={"entries": []}, headers=token_headers(app, "eve", "trader")), 403)


def test_teams_score_the_sum_of_their_top_n_members(client, app, admin, service):
    starts, ends = window(-60, 3600)
    create_competition(client, admin,
                       competition_body("teams", starts, ends, registration="none", team_size=3, team_top_n=2))
    heads = {name: token_headers(app, name, "trader") for name in ("a", "b", "c", "d", "e")}
    red = client.post("/v1/competitions/teams/teams", json={"name": "Red"}, headers=heads["a"])
    assert red.status_code == 201, red.json
    code = red.json["code"]
    for name in ("b", "c"):
        joined = client.post("/v1/competitions/teams/teams/join", json={"code": code}, headers=heads[name])
        assert joined.status_code == 200, joined.json
    assert_error(client.post("/v1/competitions/teams/teams/join", json={"code": code}, headers=heads["d"]), 409,
                 "team_full")
    assert_error(client.post("/v1/competitions/teams/teams/join", json={"code": "nope"}, headers=heads["d"]), 404)
    blue = client.post("/v1/competitions/teams/teams", json={"name": "Blue"}, headers=heads["d"]).json
    assert client.post("/v1/competitions/teams/teams/join", json={"code": blue["code"]},
                       headers=heads["e"]).status_code == 200
    post_trades(client, app, service, [("a", "a", "10", starts + 1), ("b", "b", "20", starts + 1),
                                       ("c", "c", "30", starts + 1), ("d", "d", "45", starts + 1),
                                       ("e", "e", "1", starts + 1)])
    teams = client.get("/v1/competitions/teams/teams").json["teams"]
    assert [(t["rank"], t["name"], t["score"], t["counted"]) for t in teams] == [
        (1, "Red", "50.00", 2), (2, "Blue", "46.00", 2)]  # Red: 30 + 20 (a's 10 is the third)


@pytest.mark.parametrize(("change", "field"), [
    ({"metric": "likes"}, "metric"),
    ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
    ({"registration": "maybe"}, "registration"),
    ({"prizes": [{"from_rank": 2, "to_rank": 1, "prize": "x"}]}, "prizes[0].to_rank"),
    ({"prizes": [{"from_rank": 1, "to_rank": 3, "prize": "x"}, {"from_rank": 3, "to_rank": 4, "prize": "y"}]},
     "prizes[1]"),
    ({"team_top_n": 2}, "team_top_n"),
    ({"symbols": ["DOGE"]}, "symbols"),
    ({"min_volume": "-5"}, "min_volume"),
    ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),  # no WEBHOOK_SECRET configured
    ({"starts_at": "yesterday"}, "starts_at"),
    ({"color": "red"}, "color"),
])
def test_bad_combinations_are_a_422_naming_the_field(client, admin, change, field):
    starts, ends = window(0, 3600)
    response = client.post("/v1/competitions", json={**competition_body("bad", starts, ends), **change}, headers=admin)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == field
    assert client.get("/v1/competitions/bad").status_code == 404  # nothing was created


def test_list_filters_by_status_and_duplicates_are_409(client, admin):
    for comp_id, (offset, length) in {"up": (3600, 60), "now": (-60, 3600), "done": (-7200, 60)}.items():
        create_competition(client, admin, competition_body(comp_id, *window(offset, length)))
    listing = client.get("/v1/competitions").json["competitions"]
    assert [(c["id"], c["status"]) for c in listing] == [("now", "live"), ("up", "upcoming"), ("done", "finalizing")]
    assert [c["id"] for c in client.get("/v1/competitions?status=upcoming").json["competitions"]] == ["up"]
    assert 3590 < client.get("/v1/competitions/up").json["time_left_seconds"] <= 3600
    assert_error(client.get("/v1/competitions?status=soon"), 400, "invalid_status")
    assert_error(client.post("/v1/competitions", json=competition_body("up", *window(0, 60)), headers=admin), 409,
                 "competition_exists")
    assert_error(client.get("/v1/competitions/nope/leaderboard"), 404, "competition_not_found")


def test_delete_user_leaves_no_trace_of_the_member_in_any_key(client, app, admin, service, auth, redis_client):
    from leaderboard.config import load_settings
    from leaderboard.jobs import tasks
    from leaderboard.ranking.boards import BoardRegistry

    auth.register("zoe-trader", display_name="Zoe Z")
    zoe = auth.headers("zoe-trader")
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("gdpr", starts, ends, team_size=2))
    create_competition(client, admin, competition_body("gdpr2", starts, ends, registration="none", min_volume="1"))
    assert client.post("/v1/competitions/gdpr/join", headers=zoe).status_code == 201
    assert client.post("/v1/competitions/gdpr/teams", json={"name": "Z team"}, headers=zoe).status_code == 201
    trades = client.post("/v1/trades", json={"trades": [  # posted by zoe herself: her write rate-limit counter
        {"trade_id": "z1", "trader_id": "zoe-trader", "symbol": "BTC", "side": "buy", "quantity": "1",
         "price": "10", "ts": starts + 1}]}, headers=zoe)
    assert trades.status_code == 202, trades.json
    post_trades(client, app, service, [("o1", "otto", "5", starts + 1), ("z2", "zoe-trader", "7", hours_ago(30))])
    client.post("/v1/competitions/gdpr/disqualifications", json={"user_id": "zoe-trader", "reason": "r"}, headers=admin)
    settings = load_settings(app.config["SETTINGS"].__dict__ | {"extra": {}})
    boards = list(BoardRegistry(redis_client).all().values())
    tasks.refresh_snapshots(redis_client, boards, datetime.now(UTC), settings)
    assert len(mentions(redis_client, b"zoe-trader")) > 10  # boards, buckets, snapshots, names, user, competitions
    response = client.delete("/v1/users/zoe-trader", headers=admin)
    assert response.status_code == 200, response.json
    assert mentions(redis_client, b"zoe-trader") == []
    assert mentions(redis_client, b"Zoe Z") == []
    assert competition_rows(client, "gdpr2") == [(1, "otto", "5.00")]  # the others stay
    assert client.get("/v1/leaderboards/btc/members/otto?period=all").status_code == 200
    record = redis_client.lrange("lb:deletions", 0, -1)
    assert len(record) == 1 and b"boss" in record[0]
    assert_error(client.delete("/v1/users/otto", headers=service), 403)


def test_a_trade_right_after_the_competition_is_created_counts(client, app, admin, service):
    starts, ends = window(-60, 3600)
    post_trades(client, app, service, [("warm", "alice", "1", starts + 1)])  # the feed has loaded its registry
    create_competition(client, admin, competition_body("fresh", starts, ends, registration="none"))
    post_trades(client, app, service, [("now", "bob", "5", starts + 2)])  # well within COMPETITION_CACHE_SECONDS
    assert competition_rows(client, "fresh") == [(1, "bob", "5.00")]


def test_another_process_sees_a_new_competition_at_once_and_an_unknown_id_costs_one_lookup(redis_client):
    from leaderboard.competitions.model import validate_competition
    from leaderboard.competitions.service import CompetitionRegistry

    first, second = CompetitionRegistry(redis_client, 60), CompetitionRegistry(redis_client, 60)
    assert second.all() == {}  # cached for a minute
    starts, ends = window(0, 60)
    comp = validate_competition(competition_body("x", starts, ends), resolution_ms=1000, max_days=92, max_tiers=20,
                                max_team_size=50, max_volume=10**12, webhook_signing=False)
    assert first.create(comp)
    assert second.get("x") == comp
    calls = redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)
    for _ in range(5):
        with pytest.raises(CompetitionError):
            second.get("nope")
    assert redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0) == calls


def test_the_leaderboard_pages_with_a_cursor_and_refuses_another_competitions_cursor(client, app, admin, service):
    starts, ends = window(-60, 3600)
    create_competition(client, admin, competition_body("pg", starts, ends, registration="none"))
    create_competition(client, admin, competition_body("pg2", starts, ends, registration="none"))
    post_trades(client, app, service, [(f"p{i}", f"t{i}", str(10 + i), starts + 1) for i in range(5)])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "cursor": cursor} if cursor else {"limit": 2}
        page = client.get("/v1/competitions/pg/leaderboard", query_string=params).json
        seen += [(e["rank"], e["user_id"]) for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert page["total"] == 5
    assert seen == [(1, "t4"), (2, "t3"), (3, "t2"), (4, "t1"), (5, "t0")]
    first = client.get("/v1/competitions/pg/leaderboard?limit=2").json["next_cursor"]
    assert_error(client.get(f"/v1/competitions/pg2/leaderboard?cursor={first}"), 400, "invalid_cursor")
    assert_error(client.get("/v1/competitions/pg/leaderboard?limit=0"), 400, "invalid_limit")


def test_a_start_before_the_creation_is_a_422_naming_starts_at_and_a_start_within_the_allowance_counts_all(
        app_config, redis_client):
    """Trades applied before a competition exists are not counted back, so its start may not lie before its
    creation by more than COMPETITION_START_SKEW_SECONDS (default 10 s)."""
    from leaderboard import create_app

    settings = {k: v for k, v in app_config.items() if k not in STARTED_EARLIER}
    app = create_app(settings)
    client = app.test_client()
    admin, service = token_headers(app, "boss", "admin"), token_headers(app, "venue", "service")
    post_trades(client, app, service, [("early", "alice", "500", window(-5, 0)[0])])  # applied before any cup
    for offset in (-11, -60, -7200):
        response = client.post("/v1/competitions", json=competition_body("past", *window(offset, 3600)), headers=admin)
        assert_error(response, 422, "validation_error")
        assert response.json["error"]["details"]["field"] == "starts_at"
        assert "not counted back" in response.json["error"]["details"]["reason"]
    assert client.get("/v1/competitions/past").status_code == 404
    starts, ends = window(-8, 3600)  # within the allowance: created, and every trade applied from now on counts
    create_competition(client, admin, competition_body("fresh", starts, ends, registration="none"))
    post_trades(client, app, service, [("t1", "bob", "20", starts + 1), ("t2", "carol", "10", window(0, 0)[0])])
    assert competition_rows(client, "fresh") == [(1, "bob", "20.00"), (2, "carol", "10.00")]
    app.extensions["leaderboard.redis"].close()

"""The live tier on a real Redis: change marks written by the apply script, the ticker's snapshots and update
events, one ticker per tick across processes."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

import orjson
import pytest
import requests
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.embedded_redis import free_port
from leaderboard.ingest.flusher import Applier
from leaderboard.ingest.writes import score_write
from leaderboard.live import ticker
from leaderboard.live.events import decode_message, derive, diff_rows
from leaderboard.ranking import snapshots
from leaderboard.ranking.boards import BoardRegistry
from leaderboard.ranking.periods import Period
from leaderboard.ranking.snapshots import Entry

from .helpers import TEST_SECRET, start_live_scheduler, start_service, trade, venue_login


def settings(redis_url: str, **overrides):
    return load_settings({"REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, "LIVE_TOP_N": 3, **overrides})


def apply(redis, board_id: str, member: str, score: int, write_id: str) -> int:
    board = BoardRegistry(redis).get(board_id)
    applier = Applier(redis, chunk_writes=500, marker_ttl=3600, history_days=30)
    return applier.apply([score_write(board, member, score, write_id)])


def events(redis, board: str, period: str) -> list[dict]:
    return [orjson.loads(fields[b"data"]) for _id, fields in redis.xrange(keys.live_events(board, period))]


def test_the_apply_script_marks_each_changed_kind_once_per_counted_write(redis_client):
    assert apply(redis_client, "scores", "alice", 10, "w1") == 1
    assert redis_client.hgetall(keys.live_changes("scores")) == {b"all": b"1", b"day": b"1", b"hour": b"1"}
    assert apply(redis_client, "scores", "alice", 10, "w1") == 0  # a replay counts nothing and marks nothing
    assert redis_client.hgetall(keys.live_changes("scores")) == {b"all": b"1", b"day": b"1", b"hour": b"1"}


def test_a_tick_snapshots_changed_periods_and_publishes_what_moved(redis_client, redis_url):
    config = settings(redis_url)
    boards = list(BoardRegistry(redis_client).all().values())
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.LIVE_CHANNEL)
    for number, (member, score) in enumerate([("alice", 30), ("bob", 20), ("carol", 10), ("dave", 5)]):
        apply(redis_client, "scores", member, score, f"w{number}")
    assert ticker.tick(redis_client, boards, datetime.now(UTC), config) == {"published": len(Period)}
    snap = snapshots.load(redis_client, "scores", Period.DAY)
    assert [e.member for e in snap.entries] == ["alice", "bob", "carol", "dave"]  # the list keeps its depth
    first = events(redis_client, "scores", "day")
    assert len(first) == 1 and first[0]["reset"] and first[0]["total"] == 4
    assert [(r["rank"], r["previous_rank"], r["user_id"]) for r in first[0]["rows"]] == [
        (1, None, "alice"), (2, None, "bob"), (3, None, "carol")]  # LIVE_TOP_N = 3
    heard: set[str] = set()
    deadline = time.monotonic() + 5
    while len(heard) < len(Period) and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)  # None for the subscribe confirmation
        if message:
            heard.add(decode_message(message["data"])[0]["period"])
    assert heard == {p.value for p in Period}

    assert ticker.tick(redis_client, boards, datetime.now(UTC), config) == {"published": 0}  # no new marks

    apply(redis_client, "scores", "dave", 25, "w9")  # best board: dave's 25 passes bob
    time.sleep(0.002)  # a newer as_of than the first snapshot
    assert ticker.tick(redis_client, boards, datetime.now(UTC), config) == {"published": len(Period)}
    update = events(redis_client, "scores", "all")[-1]
    assert not update["reset"]
    # bob only shifted (2 -> 3, same score): the client derives it (events.derive), the event does not carry it
    assert [(r["rank"], r["previous_rank"], r["user_id"], r["score"]) for r in update["rows"]] == [
        (2, None, "dave", "25")]
    assert update["removed"] == ["carol"]
    assert snapshots.load(redis_client, "scores", Period.ALL).as_of.isoformat()[:19] == update["as_of"][:19]

    # a write below the top LIVE_TOP_N still gets an event: no rows, the new as_of (the member view read after it
    # holds the write; no event left the trader's own card and the API's member micro-caches a tick behind)
    apply(redis_client, "scores", "carol", 12, "w10")  # best board: 4th, below the top 3
    time.sleep(0.002)
    assert ticker.tick(redis_client, boards, datetime.now(UTC), config) == {"published": len(Period)}
    quiet = events(redis_client, "scores", "all")[-1]
    assert (quiet["rows"], quiet["removed"], quiet["total"], quiet["reset"]) == ([], [], 4, False)
    assert quiet["as_of"] > update["as_of"]
    assert snapshots.load(redis_client, "scores", Period.ALL).as_of.isoformat()[:19] == quiet["as_of"][:19]


def ranked(scores: Mapping[str, tuple[int, int]], top_n: int, ties: str, names: Mapping[str, str]) -> list[Entry]:
    """The oracle: member -> (score, reach ms) as the API ranks it. `shared`: score descending, member id
    descending inside a tie, rank = 1 + members with a higher score; `first_reached`: earlier reach first inside
    a tie, then member id descending, rank = position."""
    by_id = sorted(scores, reverse=True)
    if ties == "shared":
        order = sorted(by_id, key=lambda m: -scores[m][0])
        rows = [Entry(1 + sum(s > scores[m][0] for s, _r in scores.values()), m, names.get(m, m), scores[m][0])
                for m in order]
    else:
        order = sorted(by_id, key=lambda m: (-scores[m][0], scores[m][1]))
        rows = [Entry(n + 1, m, names.get(m, m), scores[m][0]) for n, m in enumerate(order)]
    return rows[:top_n]


members = st.sampled_from([f"m{n}" for n in range(14)])
boards = st.dictionaries(members, st.tuples(st.integers(1, 6), st.integers(0, 3)), max_size=14)  # many ties


@hypothesis_settings(max_examples=400, deadline=None)
@given(before=boards, after=boards, renamed=st.sets(members), ties=st.sampled_from(["shared", "first_reached"]),
       top_n=st.integers(1, 10), keep=st.integers(0, 14))
def test_an_update_applied_to_the_previous_top_gives_the_new_top_exactly(before, after, renamed, ties, top_n, keep):
    """Random boards full of ties, under both tie rules: members enter, leave, change score, reach time or name;
    what a client derives from the previous top and the event's rows is the new top, ranks included. A client
    holding only the first `keep` rows derives a head of it."""
    old = ranked(before, top_n, ties, {})
    new = ranked(after, top_n, ties, {m: m.upper() for m in renamed})
    rows, removed = diff_rows(old, new)
    assert [e for e, _previous in rows] == [e for e in new if e in {r for r, _p in rows}]  # the API's order
    assert all(previous == (next((o.rank for o in old if o.member == e.member), None)) for e, previous in rows)
    assert removed == [e.member for e in old if e.member not in {n.member for n in new}]
    assert derive(old, [e for e, _previous in rows], removed) == new
    head = derive(old[:keep], [e for e, _previous in rows], removed)
    assert head == new[: len(head)]


@pytest.mark.parametrize("ties", ["shared", "first_reached"])
def test_a_new_leader_sends_one_row_and_the_one_pushed_out_not_the_whole_shifted_top(ties):
    before = {f"m{n:02}": (100 - n, n) for n in range(100)} | {"tied": (50, 99)}  # a tie at 50 under shared
    old = ranked(before, 100, ties, {})
    new = ranked(before | {"leader": (1000, 0)}, 100, ties, {})
    rows, removed = diff_rows(old, new)
    assert [(e.rank, e.member, previous) for e, previous in rows] == [(1, "leader", None)]
    assert removed == [old[-1].member]
    assert derive(old, [e for e, _p in rows], removed) == new
    raised = ranked(before | {"m10": (50, 1)}, 100, ties, {})  # m10 falls into the tie at 50
    rows, removed = diff_rows(old, raised)
    assert derive(old, [e for e, _p in rows], removed) == raised and not removed
    assert len(rows) <= 3  # m10, and under `shared` the tie group it joined ahead of


@pytest.mark.slow
def test_two_ticker_processes_run_each_tick_once_and_publish_each_change_once(redis_client, redis_url, tmp_path):
    first, second = start_live_scheduler(redis_url, tmp_path), start_live_scheduler(redis_url, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and redis_client.llen(keys.job_runs(ticker.JOB)) < 30:
            time.sleep(0.05)
        for number in range(5):
            apply(redis_client, "scores", f"p{number}", 100 + number, f"two-{number}")
            time.sleep(0.15)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(events(redis_client, "scores", "all")) < 5:
            time.sleep(0.05)
    finally:
        for proc in (first, second):
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in (first, second)]
    assert codes == [0, 0]
    runs = [r.decode().split() for r in redis_client.lrange(keys.job_runs(ticker.JOB), 0, -1)]
    ticks = Counter(tick for tick, _owner in runs)
    assert len(ticks) >= 30 and max(ticks.values()) == 1, ticks
    assert len({owner for _tick, owner in runs}) == 2  # both took turns
    added = [row["user_id"] for event in events(redis_client, "scores", "all") for row in event["rows"]
             if row["previous_rank"] is None]
    assert sorted(added) == [f"p{n}" for n in range(5)]  # every write published once, none twice


@pytest.mark.slow
def test_a_posted_trade_is_on_the_top_list_within_a_second_of_its_202(venue_redis, tmp_path):
    """Real stack: `leaderboard serve` (2 workers), a scheduler whose full refresh is an hour away, so only the
    live ticker can bring the trade to the list; both workers had the list cached before the trade."""
    server, check = venue_redis
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_service(tmp_path / "api", port, server.url)
    scheduler = start_live_scheduler(server.url, tmp_path / "scheduler", LIVE_TICK_MS="500")
    try:
        headers = venue_login(base)
        deadline = time.monotonic() + 30
        while not check.llen(keys.job_runs(ticker.JOB)):  # the scheduler is up and ticking
            assert time.monotonic() < deadline and scheduler.poll() is None
            time.sleep(0.05)
        for sample in range(3):
            for _ in range(4):  # both workers hold a cached copy of the list
                requests.get(f"{base}/v1/leaderboards/eth?limit=100", timeout=5)
            trader = f"fresh-{sample}"
            posted = requests.post(f"{base}/v1/trades", json=trade(f"live-{sample}", trader, "ETH", "2", "3100.5"),
                                   headers=headers, timeout=5)
            acked = time.monotonic()
            assert posted.status_code == 202, posted.text
            seen_in_a_row = 0
            while seen_in_a_row < 4:  # four lists in a row (both workers) show it
                body = requests.get(f"{base}/v1/leaderboards/eth?limit=100", timeout=5).json()
                shown = trader in [e["user_id"] for e in body["entries"]]
                seen_in_a_row = seen_in_a_row + 1 if shown else 0
                assert time.monotonic() - acked < 1.0 or shown, f"not on the list 1 s after its 202: {body}"
                time.sleep(0.02)
            card_matches_list(base, trader)
        page_while_the_board_changes(base, headers)
    finally:
        for proc in (api, scheduler):
            proc.send_signal(signal.SIGTERM)
        for proc in (api, scheduler):
            proc.wait(timeout=30)


def card_matches_list(base: str, trader: str) -> None:
    """Read-your-writes on one screen: the trader's rank card is the list's own row (rank, score, total, as_of),
    read from the same worker right after the list (a keep-alive session: one connection, one worker)."""
    with requests.Session() as http:
        for _ in range(3):
            listed = http.get(f"{base}/v1/leaderboards/eth?limit=100", timeout=5).json()
            card = http.get(f"{base}/v1/leaderboards/eth/members/{trader}", timeout=5).json()
            row = next(e for e in listed["entries"] if e["user_id"] == trader)
            if card["as_of"] == listed["as_of"]:  # else a tick landed between the two reads: read again
                assert (card["rank"], card["score"], card["total"]) == (row["rank"], row["score"], listed["total"])
                return
    raise AssertionError(f"the card never matched the list: {card} vs {row} of {listed['as_of']}")


def post_and_wait_listed(base: str, headers: dict[str, str], trade_id: str, trader: str, quantity: str) -> str:
    """Post an ETH trade and wait until the live ticker has it on the list (four reads in a row: both workers);
    the list's as_of then."""
    posted = requests.post(f"{base}/v1/trades", json=trade(trade_id, trader, "ETH", quantity, "1000"),
                           headers=headers, timeout=5)
    assert posted.status_code == 202, posted.text
    deadline, in_a_row = time.monotonic() + 5, 0
    while in_a_row < 4:
        assert time.monotonic() < deadline, f"{trader} never listed"
        body = requests.get(f"{base}/v1/leaderboards/eth?period=all&limit=100", timeout=5).json()
        in_a_row = in_a_row + 1 if trader in [e["user_id"] for e in body["entries"]] else 0
        time.sleep(0.02)
    return str(body["as_of"])


def page_while_the_board_changes(base: str, headers: dict[str, str]) -> None:
    """A client pages through a board while every tick replaces its snapshot (a new leader between pages):
    each cursor still answers, from the newer snapshot, right after the last row it served."""
    for letter, quantity in zip("abcdef", ("60", "50", "40", "30", "20", "10"), strict=True):
        post_and_wait_listed(base, headers, f"page-{letter}", f"page-{letter}", quantity)
    url = f"{base}/v1/leaderboards/eth?period=all&limit=2"
    pages = [requests.get(url, timeout=5).json()]
    for number in range(2):
        as_of = post_and_wait_listed(base, headers, f"leader-{number}", f"leader-{number}", str(100 + number * 100))
        answer = requests.get(f"{url}&cursor={pages[-1]['next_cursor']}", timeout=5)
        assert answer.status_code == 200, answer.text  # was 410 cursor_expired at every tick
        pages.append(answer.json())
        assert pages[-1]["as_of"] >= as_of > pages[-2]["as_of"]
    assert [[e["user_id"] for e in page["entries"]] for page in pages] == [
        ["page-a", "page-b"], ["page-c", "page-d"], ["page-e", "page-f"]]
    assert [e["rank"] for e in pages[2]["entries"]] == [7, 8]  # the newer snapshot's ranks (2 new leaders)

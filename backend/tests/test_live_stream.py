"""The live stream on the real stack: `leaderboard serve` processes (granian, the ASGI router), a scheduler
running the live ticker, one Redis, real HTTP. Delivery within a second of the 202, the same events on two
processes, Last-Event-ID resume across a restart, a slow client dropped without slowing the others, limits."""

from __future__ import annotations

import queue
import socket
import statistics
import time

import pytest
import requests

from leaderboard.embedded_redis import free_port

from .helpers import (
    SseClient,
    apply_live_update,
    has_trader,
    start_api,
    start_live_scheduler,
    stop_processes,
    trade,
    venue_login,
    wait_ticking,
)

pytestmark = pytest.mark.slow

STREAM = "/v1/leaderboards/eth/stream?period=day"


def test_trades_reach_streams_on_two_processes_within_a_second_and_resume_after_a_restart(venue_redis, tmp_path):
    server, check = venue_redis
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    top_n = {"LIVE_TOP_N": "3"}  # traders enter and leave the streamed top
    apis = [start_api(tmp_path / f"api-{i}", ports[i], server.url, **top_n) for i in range(2)]
    scheduler_metrics = f"127.0.0.1:{free_port()}"
    scheduler = start_live_scheduler(server.url, tmp_path / "scheduler", LIVE_TICK_MS="500",
                                     METRICS_BIND=scheduler_metrics, **top_n)
    clients: list[SseClient] = []
    watchers: list[SseClient] = []
    try:
        wait_ticking(check, scheduler)
        headers = venue_login(bases[0])
        clients = [SseClient(port, STREAM).start() for port in ports]
        for client in clients:
            assert client.status == 200
            assert client.headers["content-type"].startswith("text/event-stream")
            assert client.headers["cache-control"] == "no-cache" and client.headers["x-accel-buffering"] == "no"
            assert client.next().kind == "snapshot"
        watcher = SseClient(ports[1], STREAM).start()  # follows every event; its rows must stay the list's
        watchers.append(watcher)
        delays = []
        for number in range(4):  # each one tops the board: a row the stream must carry
            trader = f"live-{number}"
            posted = requests.post(f"{bases[number % 2]}/v1/trades", headers=headers, timeout=5,
                                   json=trade(f"t-{number}", trader, "ETH", str(10 + number), "3000"))
            acked = time.monotonic()
            assert posted.status_code == 202, posted.text
            arrivals = [client.wait_for(has_trader(trader), timeout=5) for client in clients]
            delays.append(max(event.at for event in arrivals) - acked)
            assert arrivals[0].id == arrivals[1].id and arrivals[0].data == arrivals[1].data  # the same event
            # only the new leader: the rows it pushed down by one are derived by the client, not sent
            assert arrivals[0].data["rows"] == [{"rank": 1, "previous_rank": None, "user_id": trader,
                                                 "user_name": trader, "score": f"{(10 + number) * 3000}.00"}]
            assert arrivals[0].data["removed"] == ([f"live-{number - 3}"] if number >= 3 else [])
            listed = requests.get(f"{bases[0]}/v1/leaderboards/eth?limit=1", timeout=5).json()
            assert listed["as_of"] >= arrivals[0].data["as_of"] or listed["entries"][0]["user_id"] == trader
        assert max(delays) < 1.0, delays
        # the live metrics: subscribers and events sent per API process, the ticker's lag in the scheduler
        metric_line(f"{bases[1]}/metrics", "leaderboard_live_subscribers ", lambda value: value == 2)  # + watcher
        metric_line(f"{bases[1]}/metrics", 'leaderboard_live_events_sent_total{kind="update"} ', lambda n: n >= 4)
        metric_line(f"{bases[1]}/metrics", 'leaderboard_live_events_sent_total{kind="snapshot"} ', lambda n: n >= 1)
        metric_line(f"http://{scheduler_metrics}/metrics", "leaderboard_live_tick_lag_seconds_count ",
                    lambda n: n >= 4)

        # read-your-writes below the top: live-0 (4th, below LIVE_TOP_N = 3) trades; the tick that applies it
        # sends an event without rows (the new as_of), and a member view read after it holds the write, on every
        # worker (each held the old view in its micro-cache, which keeps it MEMBER_CACHE_SECONDS without an event)
        member_url = f"{bases[1]}/v1/leaderboards/eth/members/live-0?period=day"
        for _ in range(4):
            assert requests.get(member_url, timeout=5).json()["score"] == "30000.00"
        posted = requests.post(f"{bases[0]}/v1/trades", headers=headers, timeout=5,
                               json=trade("t-below", "live-0", "ETH", "1", "1000"))
        acked = time.monotonic()
        assert posted.status_code == 202, posted.text
        before_as_of = arrivals[0].data["as_of"]
        quiet = [client.wait_for(lambda e: e.kind == "update" and e.data["as_of"] > before_as_of, timeout=5)
                 for client in clients]
        assert [(e.data["rows"], e.data["removed"], e.data["total"]) for e in quiet] == [([], [], 4)] * 2
        assert max(e.at for e in quiet) - acked < 1.0
        # each worker hears the same publication on its own subscription (a few ms apart from the stream's): the
        # member view holds the write right after the event, and never goes back
        heard = quiet[0].at
        member = requests.get(member_url, timeout=5).json()
        while member["score"] != "31000.00" and time.monotonic() - heard < 0.25:
            member = requests.get(member_url, timeout=5).json()
        for _ in range(4):
            assert (member["score"], member["rank"]) == ("31000.00", 4), (member, time.monotonic() - heard)
            assert member["as_of"] >= quiet[0].data["as_of"]
            member = requests.get(member_url, timeout=5).json()

        # the server under client 0 stops (SIGTERM): its streams end cleanly, it exits 0
        last_seen = quiet[0].id
        assert stop_processes(apis[0]) == [0]
        assert clients[0].closed.wait(10)
        missed = []
        for number in range(3):  # meanwhile trades go on through the other process
            trader = f"missed-{number}"
            requests.post(f"{bases[1]}/v1/trades", headers=headers, timeout=5,
                          json=trade(f"m-{number}", trader, "ETH", str(50 + number), "3000"))
            missed.append(clients[1].wait_for(has_trader(trader), timeout=5))
        apis[0] = start_api(tmp_path / "api-0", ports[0], server.url)
        resumed = SseClient(ports[0], STREAM, last_event_id=last_seen).start()
        clients.append(resumed)
        replay = [resumed.next() for _ in missed]
        assert [(e.kind, e.id, e.data) for e in replay] == [("update", e.id, e.data) for e in missed]  # nothing lost
        with pytest.raises(queue.Empty):
            resumed.next(timeout=0.5)  # and no snapshot: it had everything else

        stale = SseClient(ports[0], STREAM, last_event_id="1-0").start()  # not a kept id: a fresh snapshot
        clients.append(stale)
        assert stale.next().kind == "snapshot"

        # a tie with the 2nd, a trader below the top raised into a tie with the leader, the 3rd raised to lead (1, 2, 2)
        for number, (trader, quantity) in enumerate([("tied", "51"), ("live-2", "40"), ("missed-1", "2")]):
            posted = requests.post(f"{bases[1]}/v1/trades", headers=headers, timeout=5,
                                   json=trade(f"x-{number}", trader, "ETH", quantity, "3000"))
            assert posted.status_code == 202, posted.text
            try:
                clients[1].wait_for(has_trader(trader), timeout=5)
            except queue.Empty:
                raise AssertionError(f"no event carried {trader}: {clients[1].body[-3000:]!r}") from None
        seen = []
        with pytest.raises(queue.Empty):
            while True:
                seen.append(watcher.next(timeout=1.0))
        assert seen[0].kind == "snapshot" and all(e.kind == "update" for e in seen[1:]) and len(seen) >= 11
        rows = seen[0].data["entries"]
        for event in seen[1:]:
            rows = apply_live_update(rows, event.data)
        listed = requests.get(f"{bases[1]}/v1/leaderboards/eth?period=day&limit=3", timeout=5).json()
        assert listed["as_of"] == seen[-1].data["as_of"]
        assert rows == [{k: e[k] for k in ("rank", "user_id", "user_name", "score")} for e in listed["entries"]]
        assert [r["rank"] for r in rows] == [1, 2, 2]
    finally:
        for client in clients + watchers:
            client.close()
        codes = stop_processes(*apis, scheduler)
    assert codes == [0, 0, 0]


def metric_line(url: str, prefix: str, good) -> None:
    """Wait (up to 5 s: counters are added once per watchdog period) until the sample `prefix` holds a good value."""
    deadline, values = time.monotonic() + 5, []
    while time.monotonic() < deadline:
        values = [float(line[len(prefix):]) for line in requests.get(url, timeout=5).text.splitlines()
                  if line.startswith(prefix)]
        if values and good(values[0]):
            return
        time.sleep(0.2)
    raise AssertionError(f"{prefix}at {url}: {values}")


def raw_status(port: int, path: str, source: str = "127.0.0.1") -> tuple[int, dict[str, str], socket.socket]:
    client = SseClient(port, path, source=source).start()
    return client.status, client.headers, client.sock


def test_stream_limits_answer_429_and_503_with_retry_after_and_bad_requests_are_4xx(venue_redis, tmp_path):
    server, _check = venue_redis
    port = free_port()
    api = start_api(tmp_path / "api", port, server.url, WEB_WORKERS="1", LIVE_MAX_SUBSCRIBERS="3",
                    LIVE_MAX_SUBSCRIBERS_PER_ADDRESS="2", LIVE_HEARTBEAT_SECONDS="0.5")
    opened: list[SseClient] = []
    try:
        base = f"http://127.0.0.1:{port}"
        bad = requests.get(f"{base}/v1/leaderboards/eth/stream?period=week", timeout=5)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_period"
        missing = requests.get(f"{base}/v1/leaderboards/nope/stream", timeout=5)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "board_not_found"
        for source in ("127.0.0.1", "127.0.0.1"):
            opened.append(SseClient(port, STREAM, source=source).start())
            assert opened[-1].status == 200
        per_address = SseClient(port, STREAM, source="127.0.0.1").start()  # a third from one address
        opened.append(per_address)
        assert per_address.status == 429 and per_address.headers["retry-after"] == "5"
        opened.append(SseClient(port, STREAM, source="127.0.0.2").start())
        assert opened[-1].status == 200
        full = SseClient(port, STREAM, source="127.0.0.3").start()  # a fourth in a process that holds 3
        opened.append(full)
        assert full.status == 503 and full.headers["retry-after"] == "5"
        assert full.body == b"" or b"streams_full" in full.body or full.closed.wait(2)
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert "leaderboard_live_subscribers 3.0" in metrics
        opened[0].close()  # a closed stream frees its place (noticed at the latest by its next heartbeat)
        deadline = time.monotonic() + 5
        while True:
            again = SseClient(port, STREAM, source="127.0.0.4").start()
            opened.append(again)
            if again.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again.status == 200
    finally:
        for client in opened:
            client.close()
        assert stop_processes(api) == [0]


@pytest.mark.usefixtures("web_server")
def test_a_slow_client_is_dropped_without_slowing_the_others(venue_redis, tmp_path):
    """The slow client never reads; every step is a new leader and a raise of 500 other traders' scores (one
    batch of trades), so each update carries ~500 rows (~95 kB: rows that only shift are not sent, rows whose
    score changed are) and its socket buffers fill within seconds. The fast client keeps getting each
    event within a second. Once the socket takes no more, the server's send has to wait: gunicorn's uvicorn
    worker pushes back at 64 kB, granian after a few MB in its own layer; the stream's task then finishes that
    send (live/stream.py `_finish`) while the events after it queue up, and the stream is dropped."""
    server, check = venue_redis
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_api(tmp_path / "api", port, server.url, WEB_WORKERS="1", LIVE_TOP_N="1000",
                    LIVE_QUEUE_EVENTS="4", LIVE_SEND_TIMEOUT_SECONDS="2")
    scheduler = start_live_scheduler(server.url, tmp_path / "scheduler", LIVE_TICK_MS="100", LIVE_TOP_N="1000")
    clients: list[SseClient] = []
    slow = socket.socket()
    try:
        headers = venue_login(base)
        for batch in range(10):  # 1,000 traders on the board
            seeded = requests.post(f"{base}/v1/trades", headers=headers, timeout=10, json={"trades": [
                trade(f"seed-{batch}-{n}", f"member-{batch * 100 + n:04d}-{'x' * 48}", "ETH", "1",
                      str(100 + batch * 100 + n))
                for n in range(100)]})
            assert seeded.status_code == 202, seeded.text
        wait_ticking(check, scheduler)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", port))
        slow.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        fast = SseClient(port, STREAM).start()
        clients.append(fast)
        assert fast.next().kind == "snapshot"
        acked: dict[str, float] = {}
        dropped_after = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # every ~0.5 s a new leader, and 500 scores raised: big updates
            number = len(acked)
            trader = f"leader-{number:03d}"
            raises = [trade(f"raise-{number}-{n}", f"member-{n:04d}-{'x' * 48}", "ETH", "1", "1") for n in range(500)]
            posted = requests.post(f"{base}/v1/trades", headers=headers, timeout=10, json={"trades": [
                trade(f"lead-{number}", trader, "ETH", "1", str(10**6 * (number + 1))), *raises]})
            assert posted.status_code == 202, posted.text
            acked[trader] = time.monotonic()
            if number % 4 == 3:
                text = requests.get(f"{base}/metrics", timeout=5).text
                if 'leaderboard_live_dropped_total{reason="slow_client"} 1.0' in text:
                    dropped_after += 1
                    if dropped_after > 2:  # and the fast client kept going after the drop
                        break
            time.sleep(0.5)
        assert dropped_after, ("the slow client was never dropped", len(fast.body), len(acked))
        time.sleep(3.0)
        arrived: dict[str, float] = {}
        since_published: list[float] = []
        while not fast.events.empty():
            event = fast.events.get()
            since_published.append(event.wall - int(event.id.split("-")[0]) / 1000)  # the id: its publication (ms)
            for row in event.data.get("rows", ()):
                arrived.setdefault(row["user_id"], event.at)
        delays = [arrived[trader] - at for trader, at in acked.items() if trader in arrived]
        assert len(delays) == len(acked), sorted(set(acked) - set(arrived))[:5]  # the fast client got them all
        assert statistics.median(delays) < 1.0, [round(d, 2) for d in delays]  # from each trade's 202
        # and the fast client is never held up by the slow one: every event reaches it within 3 s of being
        # published (the box itself is busy: 95 kB events twice a second). Measured from the publication, not the
        # 202, so that a stall of the write path or the ticker, which both clients would wait for alike, is not
        # taken for one (a 5 s one was seen once under CI load: every trade of those 5 s in one event)
        assert max(since_published) < 3.0, [round(d, 2) for d in since_published]
    finally:
        for client in clients:
            client.close()
        slow.close()
        stop_processes(api, scheduler)

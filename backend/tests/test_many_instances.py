"""Many API instances: two `leaderboard serve` instances (separate data dirs, so separate WALs) and one
scheduler against one Redis, writes spread over both, one instance killed with SIGKILL mid-stream and
restarted. Totals are exact, and both instances serve the same ranks from the scheduler's snapshots."""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import requests

from leaderboard.embedded_redis import free_port

from .helpers import (
    PostingClient,
    kill_tree_wait,
    make_requests,
    oracle,
    start_scheduler,
    start_service,
    venue_login,
    wait_all_time_totals,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]  # granian and gunicorn

def ranked(totals: dict[str, int]) -> list[tuple[str, int]]:
    """(member, rank) in the documented order: score descending, ties by member id descending."""
    order = sorted(totals.items(), key=lambda item: (-item[1], tuple(-b for b in item[0].encode())))
    ranks, previous, rank = [], None, 0
    for position, (member, score) in enumerate(order, start=1):
        if score != previous:
            rank, previous = position, score
        ranks.append((member, rank))
    return ranks


def test_two_instances_one_killed_and_restarted_lose_nothing(venue_redis, tmp_path):
    server, check = venue_redis
    ports = [free_port()]
    while len(ports) < 2:
        if (port := free_port()) not in ports:
            ports.append(port)
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    data_dirs = [tmp_path / "api-a", tmp_path / "api-b"]
    instances = [start_service(data_dirs[i], ports[i], server.url) for i in range(2)]
    scheduler = start_scheduler(server.url, tmp_path / "scheduler")
    restarted = None
    try:
        clients = [
            PostingClient(bases[i], venue_login(bases[i]),
                          make_requests(f"m{i}-", singles=1500, batches=30, batch_size=50),
                          threads=3, retry=True, deadline_s=60).start()
            for i in range(2)
        ]
        while clients[1].progress() < 600:
            time.sleep(0.05)
        victim = instances[1]
        workers = [w.pid for w in psutil.Process(victim.pid).children()]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        kill_tree_wait(workers)
        time.sleep(0.5)  # the client retries against a dead instance meanwhile
        restarted = start_service(data_dirs[1], ports[1], server.url)  # replays its WAL
        for client in clients:
            client.join()
        acked = [t for client in clients for trades in client.acked for t in trades]
        assert len(acked) == 2 * (1500 + 30 * 50), "every request is acknowledged in the end"
        expected = oracle(acked)
        assert wait_all_time_totals(check, expected, timeout=30) == expected

        # the read path on both instances agrees with the oracle once the scheduler has refreshed
        want = ranked(expected["all-volume"])[:10]
        deadline = time.monotonic() + 20
        while True:
            views = [requests.get(f"{base}/v1/leaderboards/all-volume?period=all&limit=10", timeout=5).json()
                     for base in bases]
            got = [[(e["user_id"], e["rank"]) for e in view["entries"]] for view in views]
            if got == [want, want] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert got == [want, want]
        assert all(view["total"] == len(expected["all-volume"]) for view in views)
    finally:
        for proc in (*instances, restarted, scheduler):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    for data_dir in data_dirs:
        assert list((data_dir / "wal").glob("wal-*.log")) == []

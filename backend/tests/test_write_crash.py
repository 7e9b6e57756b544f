"""The write path as users run it: granian and gunicorn with 2 workers, real HTTP, real SIGKILL and SIGTERM.

Redis is our own EmbeddedRedis (AOF on), so killing the service does not kill Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil
import pytest

from leaderboard import defaults, keys
from leaderboard.embedded_redis import free_port
from leaderboard.ingest.flusher import CRASH_BETWEEN_BOARDS, CRASH_EXIT_CODE
from leaderboard.ingest.writes import trade_write_id

from .helpers import (
    SYMBOL_LIST,
    PostingClient,
    all_time_totals,
    kill_tree_wait,
    make_requests,
    oracle,
    start_serve,
    start_service,
    trade,
    venue_login,
    wait_all_time_totals,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]  # granian and gunicorn
INGEST_CHILD = Path(__file__).with_name("ingest_child.py")
EARLY_STOP_ROUNDS = 3
EARLY_STOP_BOUND_S = defaults.WEB_GRACEFUL_TIMEOUT / 3  # a clean stop is ~1 s; a worker not hearing it, 30 s


def test_kill_9_of_a_worker_and_of_the_master_loses_nothing_and_counts_nothing_twice(venue_redis, tmp_path):
    server, check = venue_redis
    port, data_dir = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    service = start_service(data_dir, port, server.url)
    restarted = None
    try:
        headers = venue_login(base)
        bodies = make_requests("k", singles=4000, batches=160, batch_size=100)  # 20,000 trades
        client = PostingClient(base, headers, bodies, threads=6, retry=True, deadline_s=50).start()
        while client.progress() < len(bodies) // 3:
            time.sleep(0.05)
        workers = psutil.Process(service.pid).children()
        os.kill(workers[0].pid, signal.SIGKILL)  # the server spawns a new worker, which replays its WAL
        while client.progress() < 2 * len(bodies) // 3:
            time.sleep(0.05)
        workers = [w.pid for w in psutil.Process(service.pid).children()]
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        kill_tree_wait(workers)  # orphaned workers notice their parent is gone and exit
        restarted = start_service(data_dir, port, server.url)
        client.join()
        assert sum(len(trades) for trades in client.acked) == 20_000, "every request is acknowledged in the end"
        expected = oracle(t for trades in client.acked for t in trades)
        assert wait_all_time_totals(check, expected, timeout=20) == expected
    finally:
        for proc in (service, restarted):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    assert list((data_dir / "wal").glob("wal-*.log")) == []


def test_sigterm_under_load_flushes_every_acknowledged_trade_before_exit(venue_redis, tmp_path):
    server, check = venue_redis
    port, data_dir = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    service = start_service(data_dir, port, server.url)
    try:
        headers = venue_login(base)
        bodies = make_requests("g", singles=3000, batches=50, batch_size=50)
        client = PostingClient(base, headers, bodies, threads=6, retry=False, deadline_s=30).start()
        while client.progress() < 500:
            time.sleep(0.02)
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
        client.stop.set()
        client.join()
    finally:
        if service.poll() is None:
            service.kill()
    acked = [t for trades in client.acked for t in trades]
    assert len(acked) >= 500
    # requests that failed on the client's side may or may not have been accepted: their markers say which
    maybe = [t for trades in client.failed for t in trades
             if check.exists(keys.seen("all-volume", trade_write_id(t["trader_id"], t["trade_id"])))]
    assert all(check.exists(keys.seen("all-volume", trade_write_id(t["trader_id"], t["trade_id"]))) for t in acked)
    assert all_time_totals(check) == oracle(acked + maybe)
    assert list((data_dir / "wal").glob("wal-*.log")) == []


def leave_a_crashed_wal(redis_url: str, data_dir: Path, trades: list[dict], tmp_path: Path) -> None:
    """A process accepted `trades` into its WAL and died in the middle of applying them (some boards done)."""
    trades_file = tmp_path / "crashed-trades.json"
    trades_file.write_bytes(orjson.dumps(trades))
    child = subprocess.run([sys.executable, str(INGEST_CHILD), redis_url, str(data_dir), CRASH_BETWEEN_BOARDS,
                            str(trades_file)], timeout=60, capture_output=True)
    assert child.returncode == CRASH_EXIT_CODE, child.stderr.decode()[-2000:]


def test_a_sigterm_while_workers_start_stops_at_once_after_each_final_flush(venue_redis, tmp_path):
    """SIGTERM as soon as /health answers, when the other worker may still be starting (app, write path start,
    WAL claim): the server stops cleanly (exit 0, no worker killed) well inside the default graceful timeout,
    every worker's final flush done, and what a crashed process left in its WAL is applied, exactly once."""
    server, check = venue_redis
    data_dir, crashed = tmp_path / "data", []
    for attempt in range(EARLY_STOP_ROUNDS):
        trades = [trade(f"e{attempt}-{i}", f"trader{i % 5}", SYMBOL_LIST[i % 5], "1.5", f"{10 + i}.25")
                  for i in range(20)]
        leave_a_crashed_wal(server.url, data_dir, trades, tmp_path)
        crashed += trades
        log_path = tmp_path / f"serve-{attempt}.log"
        service = start_serve(data_dir, free_port(), stderr=log_path, wait_for="/health", REDIS_URL=server.url)
        started = time.monotonic()
        service.send_signal(signal.SIGTERM)
        try:
            assert service.wait(defaults.WEB_GRACEFUL_TIMEOUT + 15) == 0
        finally:
            if service.poll() is None:
                service.kill()
        took = time.monotonic() - started
        log_text = log_path.read_text()
        assert "refused to gracefully stop" not in log_text and "SIGKILL" not in log_text, log_text[-6000:]
        assert took < EARLY_STOP_BOUND_S, f"stop {attempt} took {took:.1f} s"
        events = [orjson.loads(line) for line in log_text.splitlines() if line.startswith("{")]
        stops = [e for e in events if e.get("event") == "ingest_stopped"]
        opened = {e["owner"] for e in events if e.get("event") == "wal_opened"}  # the write paths that started
        stopped_starting = {e["pid"] for e in events if e.get("event") == "worker_stopped_starting"}
        # every worker that started its write path flushed it; the other one was stopped before it started it
        assert len(stops) == len(opened) >= 1 and all(e["flushed_all"] and e["left_in_wal"] == 0 for e in stops), stops
        assert len(opened) + len({pid for pid in stopped_starting if not any(
            owner.startswith(f"p{pid}-") for owner in opened)}) == 2, (opened, stopped_starting)
        assert list((data_dir / "wal").glob("wal-*.log")) == []
        assert all_time_totals(check) == oracle(crashed)

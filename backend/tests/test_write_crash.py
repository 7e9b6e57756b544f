"""The write path as users run it: granian and gunicorn with 2 workers, real HTTP, real SIGKILL and SIGTERM.

Redis is our own EmbeddedRedis (AOF on), so killing the service does not kill Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil
import pytest
import redis as redis_lib
import requests

from leaderboard import defaults, keys
from leaderboard.auth.users import UserStore
from leaderboard.embedded_redis import EmbeddedRedis, free_port
from leaderboard.ingest.flusher import CRASH_BETWEEN_BOARDS, CRASH_EXIT_CODE
from leaderboard.ingest.writes import trade_write_id
from leaderboard.ranking.boards import SYMBOLS

from .serving import start_serve
from .write_helpers import all_time_totals, oracle, trade, wait_all_time_totals

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]  # granian and gunicorn
SYMBOL_LIST = list(SYMBOLS)
INGEST_CHILD = Path(__file__).with_name("ingest_child.py")
EARLY_STOP_ROUNDS = 3
EARLY_STOP_BOUND_S = defaults.WEB_GRACEFUL_TIMEOUT / 3  # a clean stop is ~1 s; a worker not hearing it, 30 s


@pytest.fixture()
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True).start()
    client = redis_lib.Redis.from_url(server.url)
    UserStore(client).create("venue", "venue-password-123", "Venue", "service")
    yield server, client
    client.close()
    server.stop()


def start_service(data_dir: Path, port: int, redis_url: str, **overrides: str) -> subprocess.Popen[bytes]:
    log_level = os.environ.get("TEST_SERVICE_LOG_LEVEL", "WARNING")  # INFO shows the WAL claims and flushes
    env = {"LOG_LEVEL": log_level, "REDIS_URL": redis_url, "BUFFER_MAX_AGE_MS": "50", "WEB_GRACEFUL_TIMEOUT": "10"}
    return start_serve(data_dir, port, wait_for="/health", **{**env, **overrides})  # callers may override any


def login(base: str) -> dict[str, str]:
    token = requests.post(f"{base}/v1/login", json={"username": "venue", "password": "venue-password-123"},
                          timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def make_requests(prefix: str, singles: int, batches: int, batch_size: int) -> list[list[dict]]:
    """Request bodies' trades: `singles` one-trade requests and `batches` batches, with known ids."""
    out: list[list[dict]] = []
    for i in range(singles):
        symbol, quantity, price = SYMBOL_LIST[i % 5], f"{1 + i % 9}.125", f"{20 + i % 97}.37"
        out.append([trade(f"{prefix}s{i}", f"trader{i % 13}", symbol, quantity, price)])
    for b in range(batches):
        out.append([trade(f"{prefix}b{b}-{j}", f"trader{(b + j) % 13}", SYMBOL_LIST[j % 5], f"0.{1 + j % 9}5",
                          f"{100 + j}.01") for j in range(batch_size)])
    return out


class Client:
    """Threads posting every request until it is acknowledged (a client retrying with the same trade ids)."""

    def __init__(self, base: str, headers: dict[str, str], bodies: list[list[dict]], threads: int,
                 retry: bool, deadline_s: float) -> None:
        self.base, self.headers, self.retry = base, headers, retry
        self.todo = list(enumerate(bodies))
        self.acked: list[list[dict]] = []
        self.failed: list[list[dict]] = []
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + deadline_s
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def start(self) -> Client:
        for thread in self.threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self.threads:
            thread.join(max(0.0, self.deadline - time.monotonic()) + 5)

    def progress(self) -> int:
        with self.lock:
            return len(self.acked)

    def _work(self) -> None:
        session = requests.Session()
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            with self.lock:
                if not self.todo:
                    return
                _index, trades = self.todo.pop()
            body = trades[0] if len(trades) == 1 else {"trades": trades}
            while time.monotonic() < self.deadline:
                try:
                    response = session.post(f"{self.base}/v1/trades", json=body, headers=self.headers, timeout=5)
                    if response.status_code == 202:
                        with self.lock:
                            self.acked.append(trades)
                        break
                except requests.RequestException:
                    session = requests.Session()
                if not self.retry:
                    with self.lock:
                        self.failed.append(trades)
                    break
                time.sleep(0.05)


def kill_tree_wait(pids: list[int], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return
        time.sleep(0.05)
    for pid in pids:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_kill_9_of_a_worker_and_of_the_master_loses_nothing_and_counts_nothing_twice(own_redis, tmp_path):
    server, check = own_redis
    port, data_dir = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    service = start_service(data_dir, port, server.url)
    restarted = None
    try:
        headers = login(base)
        bodies = make_requests("k", singles=4000, batches=160, batch_size=100)  # 20,000 trades
        client = Client(base, headers, bodies, threads=6, retry=True, deadline_s=50).start()
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


def test_sigterm_under_load_flushes_every_acknowledged_trade_before_exit(own_redis, tmp_path):
    server, check = own_redis
    port, data_dir = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    service = start_service(data_dir, port, server.url)
    try:
        headers = login(base)
        bodies = make_requests("g", singles=3000, batches=50, batch_size=50)
        client = Client(base, headers, bodies, threads=6, retry=False, deadline_s=30).start()
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


def test_a_sigterm_while_workers_start_stops_at_once_after_each_final_flush(own_redis, tmp_path):
    """SIGTERM as soon as /health answers, when the other worker may still be starting (app, write path start,
    WAL claim): the server stops cleanly (exit 0, no worker killed) well inside the default graceful timeout,
    every worker's final flush done, and what a crashed process left in its WAL is applied, exactly once."""
    server, check = own_redis
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
        assert len(stops) == 2 and all(e["flushed_all"] and e["left_in_wal"] == 0 for e in stops), stops
        assert list((data_dir / "wal").glob("wal-*.log")) == []
        assert all_time_totals(check) == oracle(crashed)

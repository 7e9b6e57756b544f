"""The tests' plain helpers (their fixtures are in conftest.py): trade bodies and what landed in Redis, board keys
written directly and a manual clock, the read path's NOON, competitions, starting `leaderboard serve`/`run`/
`scheduler`/`consume` as a user would, a Server-Sent Events client, a local Redis Cluster, the browser's console
watch, and assertions shared by several test modules."""

from __future__ import annotations

import contextlib
import os
import pty
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
import redis as redis_lib
import requests
from prometheus_client.parser import text_string_to_metric_families

from leaderboard import keys
from leaderboard.auth.users import UserStore
from leaderboard.clock import iso, to_ms
from leaderboard.config import Settings
from leaderboard.embedded_redis import die_with_parent, find_redis_server, free_port
from leaderboard.jobs import tasks
from leaderboard.live import ticker
from leaderboard.live.events import derive
from leaderboard.ranking.boards import SYMBOLS, Board, BoardRegistry
from leaderboard.ranking.periods import day_bucket, day_bucket_expiry, hour_bucket, hour_bucket_expiry
from leaderboard.ranking.snapshots import Entry

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct-horse-battery"  # every test user's password (AuthActions, the browser tests)


# --- Users and tokens (was in conftest.py) ---


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class AuthActions:
    """Register, log in and build Authorization headers the way a client would (the `auth` fixture)."""

    password = PASSWORD

    def __init__(self, client: Any, app: Any) -> None:
        self.client = client
        self.app = app

    def register(self, username: str | None = None, **extra: Any) -> str:
        username = username or f"user{uuid.uuid4().hex[:8]}"
        response = self.client.post(
            "/v1/auth/register", json={"username": username, "password": self.password, **extra}
        )
        assert response.status_code == 201, response.json
        return username

    def create(self, username: str, role: str) -> str:
        """Service/admin accounts are made by the CLI; tests make them through the same store."""
        with self.app.app_context():
            from leaderboard.redis_conn import get_redis

            assert UserStore(get_redis()).create(username, self.password, username, role) is not None
        return username

    def login(self, username: str, password: str | None = None) -> dict[str, Any]:
        response = self.client.post("/v1/login", json={"username": username, "password": password or self.password})
        assert response.status_code == 200, response.json
        return response.json

    def headers(self, username: str | None = None, role: str = "trader") -> dict[str, str]:
        """Authorization headers for a fresh user with `role` (or for an existing `username`)."""
        if username is None:
            username = self.register() if role == "trader" else self.create(f"{role}{uuid.uuid4().hex[:6]}", role)
        return bearer(self.login(username)["access_token"])


# --- Trades, what landed in Redis, the oracle (the write path) ---


BOARDS = [*(s.board for s in SYMBOLS.values()), "all-volume"]
SYMBOL_LIST = list(SYMBOLS)


def trade(trade_id: str, trader: str = "alice", symbol: str = "BTC", quantity: Any = "1.5",
          price: Any = "100.25", **extra: Any) -> dict[str, Any]:
    return {"trade_id": trade_id, "trader_id": trader, "symbol": symbol, "side": "buy", "quantity": quantity,
            "price": price, **extra}


def notional_cents(quantity: Any, price: Any) -> int:
    value = Decimal(str(quantity)) * Decimal(str(price))
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def oracle(trades: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """board -> trader -> cents: each (trader_id, trade_id) counted once (the first one seen)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: set[tuple[str, str]] = set()
    for item in trades:
        if (item["trader_id"], item["trade_id"]) in seen:
            continue
        seen.add((item["trader_id"], item["trade_id"]))
        cents = notional_cents(item["quantity"], item["price"])
        totals[SYMBOLS[item["symbol"]].board][item["trader_id"]] += cents
        totals["all-volume"][item["trader_id"]] += cents
    return {board: dict(members) for board, members in totals.items()}


def zset(redis: Any, key: str) -> dict[str, int]:
    return {member.decode(): int(score) for member, score in redis.zrange(key, 0, -1, withscores=True)}


def all_time_totals(redis: Any) -> dict[str, dict[str, int]]:
    found = {board: zset(redis, keys.all_time(board)) for board in BOARDS}
    return {board: members for board, members in found.items() if members}


def wait_all_time_totals(redis: Any, expected: dict[str, dict[str, int]], timeout: float,
                         poll: float = 0.05) -> dict[str, dict[str, int]]:
    """The all-time totals once they equal `expected`, or as they are after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    found = all_time_totals(redis)
    while found != expected and time.monotonic() < deadline:
        time.sleep(poll)
        found = all_time_totals(redis)
    return found


def wait_stream_drained(redis: Any, timeout: float, poll: float = 0.05, group: str = "leaderboard") -> None:
    """Wait until the consumer group has been handed every trade-stream entry and acknowledged them all."""
    from leaderboard.ingest.consumer import stream_drained

    deadline = time.monotonic() + timeout
    while not stream_drained(redis, group):
        if time.monotonic() > deadline:
            raise AssertionError(f"stream not drained: {redis.xinfo_groups(keys.trade_stream())}")
        time.sleep(poll)


def drain(app: Any, timeout: float = 10.0) -> None:
    from leaderboard.api.write_path import current_ingest

    with app.app_context():
        assert current_ingest().drain(timeout), "the flusher did not empty the buffer in time"


def token_headers(app: Any, username: str, role: str) -> dict[str, str]:
    """Authorization headers for `username` with `role`, minted like a login would (without the password
    hashing cost, which is what makes logins slow on purpose)."""
    from leaderboard.api.tokens import issue_tokens
    from leaderboard.auth.users import User

    with app.test_request_context():
        tokens = issue_tokens(User(username, username, role))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# --- Board keys written directly, exactly as the write path stores them; a clock moved by hand ---


HISTORY_DAYS = 30


def write(redis: Any, board: Board, member: str, value: int, ts: datetime, history_days: int = HISTORY_DAYS) -> None:
    day, hour = day_bucket(ts), hour_bucket(ts)
    pipe = redis.pipeline(transaction=True)
    for key in (keys.all_time(board.id), keys.day(board.id, day), keys.hour(board.id, hour)):
        if board.mode == "sum":
            pipe.zincrby(key, value, member)
        else:
            pipe.zadd(key, {member: value}, gt=True)
    pipe.expireat(keys.day(board.id, day), day_bucket_expiry(day, history_days))
    pipe.expireat(keys.hour(board.id, hour), hour_bucket_expiry(hour))
    pipe.execute()


@dataclass
class ManualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# --- The read path: NOON, board lookup, a scheduler refresh ---


def _tomorrow_noon() -> datetime:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, day_time(12), UTC)


# The tests move a manual clock, but keep it near the real one: bucket sets carry an EXPIREAT that the real
# Redis counts on its own clock, so a fixed date would have them expire on write once it lies far enough back.
NOON = _tomorrow_noon()


def day_of_noon(offset: int = 0) -> str:
    """NOON's date shifted by `offset` days, as the API writes dates (YYYY-MM-DD)."""
    return (NOON.date() + timedelta(days=offset)).isoformat()


def midnight_after(days: int = 0) -> datetime:
    """The midnight that ends NOON's day, `days` later."""
    return datetime.combine(NOON.date() + timedelta(days=days + 1), day_time(0), UTC)


def settings_of(app: Any) -> Settings:
    return app.config["SETTINGS"]  # type: ignore[no-any-return]


def board_of(redis: Any, board_id: str) -> Board:
    found = BoardRegistry(redis).get(board_id)
    assert found is not None
    return found


def refresh(app: Any, redis: Any, now: datetime) -> None:
    """What the scheduler's refresh job does at `now`."""
    tasks.refresh_snapshots(redis, BoardRegistry(redis).all().values(), now, settings_of(app))


def read_cache_of(app: Any) -> Any:
    from leaderboard.api.params import READ_CACHE_KEY

    return app.extensions.get(READ_CACHE_KEY)


# --- Competitions: times, a competition body, posting trades and reading the board ---


# Most tests create a competition whose window began (or ended) before the test: as if it had been created back
# then (the trades are posted after the creation, so all of them count). The API refuses such a start by default.
STARTED_EARLIER = {"COMPETITION_START_SKEW_SECONDS": 3 * 3600}


def iso_of_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


def window(start_offset_s: float, length_s: float) -> tuple[int, int]:
    """(starts_at ms, ends_at ms) of a window starting `start_offset_s` from now (negative: in the past)."""
    now = to_ms(datetime.now(UTC))
    starts = now + int(start_offset_s * 1000)
    return starts, starts + int(length_s * 1000)


def competition_body(comp_id: str, starts: int, ends: int, **extra: Any) -> dict[str, Any]:
    return {"id": comp_id, "title": f"Cup {comp_id}", "metric": "volume", "starts_at": iso_of_ms(starts),
            "ends_at": iso_of_ms(ends), **extra}


def create_competition(client: Any, admin: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/competitions", json=body, headers=admin)
    assert response.status_code == 201, response.json
    result: dict[str, Any] = response.json
    return result


def post_trades(client: Any, app: Any, service: dict[str, str], rows: list[tuple[str, str, str, int]],
                symbol: str = "BTC") -> None:
    """rows: (trade id, trader, notional in USD as a quantity of 1 at that price, event time ms)."""
    trades = [trade(tid, trader, symbol, "1", usd, ts=ms) for tid, trader, usd, ms in rows]
    response = client.post("/v1/trades", json={"trades": trades}, headers=service)
    assert response.status_code == 202, response.json
    drain(app)


def competition_rows(client: Any, comp_id: str, limit: int = 100) -> list[tuple[int, str, str]]:
    """(rank, user id, score) of a competition's leaderboard, as GET /v1/competitions/{id}/leaderboard shows it."""
    response = client.get(f"/v1/competitions/{comp_id}/leaderboard?limit={limit}")
    assert response.status_code == 200, response.json
    return [(e["rank"], e["user_id"], e["score"]) for e in response.json["entries"]]


def competition_member(client: Any, comp_id: str, user_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/competitions/{comp_id}/members/{user_id}")
    assert response.status_code == 200, response.json
    result: dict[str, Any] = response.json
    return result


def hours_ago(hours: float) -> int:
    return to_ms(datetime.now(UTC) - timedelta(hours=hours))


def mentions(redis: Any, needle: bytes) -> list[str]:
    """Every key whose name or content mentions `needle`."""
    found = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key).decode()
        if kind == "string":
            values = [redis.get(key) or b""]
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        elif kind == "hash":
            values = [part for pair in redis.hgetall(key).items() for part in pair]
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        else:
            values = [b""]
        if needle in key or any(needle in value for value in values):
            found.append(key.decode())
    return found


# --- `leaderboard serve` as a user starts it: `start_serve` is the one launcher ---


@dataclass
class Served:
    base: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]


def start_serve(data_dir: Path, port: int, *, stderr: Path | None = None, wait_for: str | None = "/ready",
                timeout: float = 60, **env_overrides: str) -> subprocess.Popen[bytes]:
    """The one way the tests start `python -m leaderboard serve` (2 workers, DEV_MODE=1, on 127.0.0.1:`port`,
    DATA_DIR=`data_dir`), returned once GET `wait_for` answers 200 (at once when `wait_for` is None). Without
    REDIS_URL in `env_overrides` it starts its embedded Redis. `stderr` (the JSON logs): a file to write, else
    inherited. The caller stops it (or use `serve`)."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "DEV_MODE": "1", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "LOG_LEVEL": "INFO"}
    for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "JWT_SECRET_KEY"):
        env.pop(name, None)
    env.update(env_overrides)
    with contextlib.ExitStack() as files:
        log_file = files.enter_context(stderr.open("ab")) if stderr is not None else None
        proc = subprocess.Popen([sys.executable, "-m", "leaderboard", "serve"], env=env, stderr=log_file)
    if wait_for is None:
        return proc
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}{wait_for}", timeout=5).status_code == 200:
                return proc
        except requests.RequestException:  # not listening yet, or busy booting
            pass
        if proc.poll() is not None:
            tail = stderr.read_text()[-3000:] if stderr is not None else ""
            raise AssertionError(f"serve exited during start-up with {proc.returncode}\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"serve did not answer {wait_for} within {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def serve(
    tmp_path: Path, port: int | None = None, log_name: str = "serve.log", **env_overrides: str
) -> Iterator[Served]:
    """`start_serve` for the block (data in tmp_path/data, stderr to tmp_path/`log_name`), stopped after it."""
    data_dir, port = tmp_path / "data", port or free_port()
    log_path = tmp_path / log_name
    log_path.write_bytes(b"")
    proc = start_serve(data_dir, port, stderr=log_path, **env_overrides)
    try:
        yield Served(f"http://127.0.0.1:{port}", data_dir, log_path, proc)
    finally:
        terminate(proc, timeout=30)


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if `proc` is still there `timeout` seconds later."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- The ASGI router called in process, as the server calls it ---


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body of one ASGI response


async def asgi_request(app: Any, method: str, path: str, query: bytes = b"",
                       headers: Iterable[tuple[bytes, bytes]] = (), body: bytes = b"", chunks: int = 1,
                       raw_path: bytes | None = None) -> Answer:
    """One request through an ASGI app (the router, live/asgi.py) as granian calls it, the body in `chunks`
    messages: (status, headers, body)."""
    sent: list[dict[str, Any]] = []
    size = -(-len(body) // chunks) if body else 1
    parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]

    async def receive() -> dict[str, Any]:
        if not parts:
            return {"type": "http.disconnect"}
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": raw_path or path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], start["headers"], b"".join(m.get("body", b"") for m in sent[1:])


# --- A small Server-Sent Events client: reads a stream in a thread, timestamps every event ---


@dataclass
class SseEvent:
    kind: str
    id: str
    data: Any
    at: float  # time.monotonic() when it arrived
    wall: float = 0.0  # time.time() when it arrived: comparable with the milliseconds of an event id (Redis' clock)


@dataclass
class SseClient:
    """GET `path` on 127.0.0.1:`port` over a raw socket (optionally from `source` address); `events` fills as
    they arrive; `status`/`headers` once the head is read; `closed` once the server ended the stream."""

    port: int
    path: str
    last_event_id: str = ""
    source: str = "127.0.0.1"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: queue.Queue[SseEvent] = field(default_factory=queue.Queue)
    closed: threading.Event = field(default_factory=threading.Event)
    head_read: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SseClient:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10, source_address=(self.source, 0))
        extra = f"Last-Event-ID: {self.last_event_id}\r\n" if self.last_event_id else ""
        self.sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{extra}\r\n"
                          .encode())
        threading.Thread(target=self._read, daemon=True).start()
        assert self.head_read.wait(10), "no response head"
        return self

    def _fill(self, buffer: bytes, done: Any) -> bytes | None:
        """`buffer` plus what arrives until `done(buffer)`; None when the server closed first."""
        while not done(buffer):
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        return buffer

    def _read(self) -> None:
        try:
            buffer = self._fill(b"", lambda b: b"\r\n\r\n" in b)
            if buffer is None:
                return
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            self.head_read.set()
            chunked = self.headers.get("transfer-encoding") == "chunked"
            text = b""
            while True:
                if chunked:
                    filled = self._fill(buffer, lambda b: b"\r\n" in b)
                    if filled is None:
                        return
                    size_line, buffer = filled.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    filled = self._fill(buffer, lambda b, size=size: len(b) >= size + 2)
                    if filled is None:
                        return
                    data, buffer = filled[:size], filled[size + 2:]
                    if size == 0:
                        return
                else:
                    data = buffer or self.sock.recv(65536)
                    buffer = b""
                    if not data:
                        return
                text += data
                self.body += data
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    self._event(block.decode())
        except OSError:
            return
        finally:
            self.head_read.set()
            self.closed.set()

    def _event(self, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            self.events.put(SseEvent(fields.get("event", "message"), fields.get("id", ""), orjson.loads(fields["data"]),
                                  time.monotonic(), time.time()))

    def next(self, timeout: float = 5.0) -> SseEvent:
        return self.events.get(timeout=timeout)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> SseEvent:
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(event):
                return event

    def close(self) -> None:
        """Hang up (shutdown first: a plain close() does not end the connection while the reader thread is in
        recv())."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


# --- A local Redis Cluster ---


CLUSTER_SLOTS = 16384
CLUSTER_START_TIMEOUT_SECONDS = 30.0


def _cluster_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port(taken: set[int]) -> int:
    """A port whose cluster bus port (+10000) is free too."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536 and port not in taken and _cluster_port_free(port + 10000):
            return port
        # ephemeral ports are often high; try a low random one instead
        candidate = 20000 + (port % 20000)
        if candidate not in taken and _cluster_port_free(candidate) and _cluster_port_free(candidate + 10000):
            return candidate
    raise RuntimeError("no free port pair for a cluster node")


class LocalRedisCluster:
    """A local Redis Cluster (`masters` masters, no replicas) from the same redis-server binary the service
    embeds. Slots are assigned and nodes introduced with plain redis-py commands (CLUSTER ADDSLOTS / MEET), so
    no redis-cli is needed. Every node listens on 127.0.0.1; each needs its port and port+10000 (cluster bus)."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = Path(directory)
        self.ports: list[int] = []
        taken: set[int] = set()
        for _ in range(masters):
            port = free_cluster_port(taken)
            taken |= {port, port + 10000}
            self.ports.append(port)
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Any one node: the cluster client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis_lib.Redis:
        return redis_lib.Redis(port=port, socket_timeout=2)

    def start(self) -> LocalRedisCluster:
        binary = find_redis_server()
        for port in self.ports:
            node_dir = self.directory / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            self.processes.append(subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000", "--dir", str(node_dir),
                 "--appendonly", "no", "--save", "", "--protected-mode", "yes", "--logfile", "redis.log"],
                cwd=node_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # no node outlives a killed test run
            ))
        try:
            self._wait(lambda: all(self._pings(port) for port in self.ports), "nodes did not start")
            self._assign_slots()
            first = self.ports[0]
            for port in self.ports[1:]:
                self.node(port).execute_command("CLUSTER", "MEET", "127.0.0.1", first)
            self._wait(self._healthy, "cluster_state never became ok on every node")
        except BaseException:
            self.stop()
            raise
        return self

    def _assign_slots(self) -> None:
        share = CLUSTER_SLOTS // len(self.ports)
        for index, port in enumerate(self.ports):
            first = index * share
            last = CLUSTER_SLOTS - 1 if index == len(self.ports) - 1 else first + share - 1
            self.node(port).execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))

    def _pings(self, port: int) -> bool:
        try:
            return bool(self.node(port).ping())
        except redis_lib.RedisError:
            return False

    def _healthy(self) -> bool:
        for port in self.ports:
            info = self.node(port).execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(len(self.ports)):
                return False
            if fields.get("cluster_slots_ok") != str(CLUSTER_SLOTS):
                return False
        return True

    def _wait(self, ready: object, message: str) -> None:
        deadline = time.monotonic() + CLUSTER_START_TIMEOUT_SECONDS
        while not ready():  # type: ignore[operator]
            if any(proc.poll() is not None for proc in self.processes):
                raise RuntimeError(f"a cluster node exited: {message}")
            if time.monotonic() > deadline:
                raise RuntimeError(message)
            time.sleep(0.05)

    def flushall(self) -> None:
        for port in self.ports:
            self.node(port).flushall()

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()

    def __enter__(self) -> LocalRedisCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()


# --- The JSON error shape ---


def assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.data
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


# --- The read path's oracle: an around-me window ---


def around_rows(expected, position, size):
    start = max(0, position - (size - 1) // 2)
    stop = start + size - 1
    if stop > len(expected) - 1:
        stop = len(expected) - 1
        start = max(0, stop - size + 1)
    return expected[start : stop + 1]


# --- `leaderboard consume` ---


def producer_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path / "prod"),
           "LOG_LEVEL": "WARNING"}
    env.pop("PRODUCER_USERNAME", None)
    env.pop("PRODUCER_PASSWORD", None)
    return env


@contextlib.contextmanager
def stream_consumer(env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real `leaderboard consume`; the block must stop it with SIGTERM (checked: a clean exit), else it is killed."""
    consumer = subprocess.Popen([sys.executable, "-m", "leaderboard", "consume", "--name", name],
                                env={**env, "CONSUMER_BLOCK_MS": "100"})
    try:
        yield consumer
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()


def stop_consumer(consumer: subprocess.Popen[bytes]) -> None:
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(15) == 0


# --- `leaderboard scheduler` ---


def start_scheduler(redis_url: str, tmp_path: Path, **env_overrides: str) -> subprocess.Popen[bytes]:
    """A real `leaderboard scheduler` refreshing every second (any setting can be overridden); the caller stops it."""
    env = {**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path),
           "REFRESH_SECONDS": "1", "LOG_LEVEL": "WARNING", **env_overrides}
    return subprocess.Popen([sys.executable, "-m", "leaderboard", "scheduler"], env=env)


def start_live_scheduler(redis_url: str, tmp_path: Path, **env_overrides: str) -> subprocess.Popen[bytes]:
    """`start_scheduler` for the live tier: the ticker every 100 ms, snapshots refreshed only on the hour."""
    return start_scheduler(redis_url, tmp_path, **{"REFRESH_SECONDS": "3600", "LIVE_TICK_MS": "100", **env_overrides})


# --- The live tier: its API processes, the ticker ---


def start_api(data_dir: Path, port: int, redis_url: str, **env: str) -> subprocess.Popen[bytes]:
    """`leaderboard serve` with the default buffer age (the delivery target is judged with it) and one secret
    for every instance (a token from one is good on the other)."""
    return start_service(data_dir, port, redis_url, BUFFER_MAX_AGE_MS="200", JWT_SECRET_KEY=TEST_SECRET, **env)


def stop_processes(*procs: subprocess.Popen[bytes]) -> list[int]:
    """SIGTERM to each still running, then their exit codes."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    return [proc.wait(timeout=30) for proc in procs]


def wait_ticking(check, scheduler) -> None:
    deadline = time.monotonic() + 30
    while not check.llen(keys.job_runs(ticker.JOB)):
        assert time.monotonic() < deadline and scheduler.poll() is None, "the ticker did not start"
        time.sleep(0.05)


def apply_live_update(rows: list[dict[str, Any]], event: dict[str, Any]) -> list[dict[str, Any]]:
    """A stream client's top rows (the API's entry dicts, score as text) after an `update` event, derived by the
    client's rule (live/events.derive: the rows sent at their ranks, the others shifted in their order)."""
    def entry(row: dict[str, Any]) -> Entry:
        return Entry(row["rank"], row["user_id"], row["user_name"], row["score"])  # type: ignore[arg-type]

    held = [] if event["reset"] else [entry(row) for row in rows]
    derived = derive(held, [entry(row) for row in event["rows"]], event["removed"])
    return [{"rank": e.rank, "user_id": e.member, "user_name": e.name, "score": e.score} for e in derived]


def has_trader(trader: str):
    return lambda event: event.kind == "update" and trader in [row["user_id"] for row in event.data["rows"]]


# --- Services with a Redis of their own (the venue_redis fixture) and clients posting under load ---


def start_service(data_dir: Path, port: int, redis_url: str, **overrides: str) -> subprocess.Popen[bytes]:
    log_level = os.environ.get("TEST_SERVICE_LOG_LEVEL", "WARNING")  # INFO shows the WAL claims and flushes
    env = {"LOG_LEVEL": log_level, "REDIS_URL": redis_url, "BUFFER_MAX_AGE_MS": "50", "WEB_GRACEFUL_TIMEOUT": "10"}
    return start_serve(data_dir, port, wait_for="/health", **{**env, **overrides})  # callers may override any


def venue_login(base: str) -> dict[str, str]:
    """Authorization headers of the `venue` service account the `venue_redis` fixture creates."""
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


class PostingClient:
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

    def start(self) -> PostingClient:
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


# --- The browser tests: Chromium, the seeded stack, the console watch ---


REPO = Path(__file__).resolve().parents[2]


UI_DIR = REPO / "frontend" / "out"


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


REFRESH_SECONDS = "2"


# What Chromium logs for a fetch to a server that is down or going down: the only console errors allowed,
# and only during the outage.
OUTAGE_NETWORK_ERROR = re.compile(
    r"^Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE)$"
)


# seeded through a service account: (trader, display name, symbol, quantity, price, days ago)
SEED_TRADES = [
    ("ada", "Ada Lovelace", "BTC", "1.5", "64000.00", 0),  # 96,000.00
    ("grace", "Grace Hopper", "BTC", "0.3125", "64000.00", 0),  # 20,000.00
    ("grace", "Grace Hopper", "ETH", "10", "3000.00", 0),  # 30,000.00
    ("margaret", "Margaret Hamilton", "ETH", "1", "3000.00", 0),  # 3,000.00
    ("margaret", "Margaret Hamilton", "SOL", "100", "150.00", 0),  # 15,000.00
    ("linus", "Linus Torvalds", "BTC", "2", "60000.00", 2),  # 120,000.00, two days ago: not today
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_chromium() -> str:
    """Chromium's path; without one: a failure in CI (env CI set), a skip elsewhere."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install chromium (apt-get install chromium)")
        pytest.skip("no chromium on this machine (set CHROMIUM_PATH or apt-get install chromium)")
    return path


@contextlib.contextmanager
def running_process(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stopped with SIGTERM (then SIGKILL) when the block ends, however it ends."""
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        yield proc
    finally:
        terminate(proc, timeout=20)


@dataclass
class Stack:
    tmp_path: Path
    env: dict[str, str]
    port: int = 0

    def api(self, log_name: str) -> contextlib.AbstractContextManager[Served]:
        return serve(self.tmp_path, port=self.port or None, log_name=log_name, **self.env)


@dataclass
class ConsoleWatch:
    """Console errors and page errors of the browser; network errors are tolerated only during an outage."""

    outage: bool = False
    errors: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        if self.outage and OUTAGE_NETWORK_ERROR.match(message.text):
            self.tolerated.append(message.text)
        else:
            self.errors.append(f"console.error: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"pageerror: {error}")


def seed_rivals(base: str, redis_client: redis_lib.Redis) -> None:
    """Other traders with display names, and their trades posted by a service account (as a venue would)."""
    store = UserStore(redis_client)
    for trader, name in {(t, n) for t, n, *_ in SEED_TRADES}:
        assert store.create(trader, PASSWORD, name, "trader") is not None
    assert store.create("e2e-venue", PASSWORD, "E2E venue", "service") is not None
    with requests.Session() as http:
        login = http.post(f"{base}/v1/login", json={"username": "e2e-venue", "password": PASSWORD}, timeout=10)
        assert login.status_code == 200, login.text
        now = datetime.now(UTC)
        trades = [{"trade_id": f"seed-{uuid.uuid4().hex}", "trader_id": trader, "symbol": symbol, "side": "buy",
                   "quantity": quantity, "price": price, "ts": (now - timedelta(days=days)).isoformat()}
                  for trader, _, symbol, quantity, price, days in SEED_TRADES]
        posted = http.post(f"{base}/v1/trades", json={"trades": trades}, timeout=10,
                           headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert posted.status_code == 202, posted.text


def board_row(page: Any, user_id: str) -> Any:
    return page.locator(f'[data-testid="leaderboard-table"] [data-testid="leaderboard-row"][data-user-id="{user_id}"]')


# --- Prometheus exposition ---


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def metric_value(text: str, name: str, **labels: str) -> float:
    return metric_samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


# --- Sample trades with client retries ---


def sample_trades(count: int) -> list[dict]:
    """`count` trades over every symbol; the last 3 are client retries of earlier ones (same trade)."""
    symbols = ["BTC", "ETH", "SOL", "USDC", "ARB"]
    unique = [trade(f"c{i}", f"trader{i % 4}", symbols[i % 5], f"{1 + i % 7}.25", f"{10 + i}.5")
              for i in range(count - 3)]
    return unique + unique[:3]


# --- `leaderboard run` on a terminal of its own ---


def redis_processes_for(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "cwd"]):
        try:
            if "redis-server" in " ".join(proc.info["cmdline"] or []) and str(data_dir) in (proc.info["cwd"] or ""):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


class Terminal:
    """The pseudo-terminal `leaderboard run` writes to (as under `make run`): everything it shows, timestamped."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.chunks: list[tuple[float, bytes]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed its end
                return
            if not data:
                return
            self.chunks.append((time.monotonic(), data))

    def text(self, since: float = 0.0) -> str:
        return b"".join(data for at, data in list(self.chunks) if at >= since).decode("utf-8", "replace")


@contextlib.contextmanager
def leaderboard_run(tmp_path: Path, port: int, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], Terminal]]:
    """`leaderboard run` in its own process group on a terminal of its own (like a terminal's foreground job),
    up to its URLs banner; on the way out every process it started is killed if still there."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DEV_MODE": "1", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "LOG_LEVEL": "INFO", **settings}
    env.pop("REDIS_URL", None)
    terminal = Terminal()
    run = subprocess.Popen([sys.executable, "-m", "leaderboard", "run"], env=env, stdin=terminal.slave,
                           stdout=terminal.slave, stderr=terminal.slave, start_new_session=True)
    os.close(terminal.slave)
    terminal.reader.start()
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while "Leaderboard is up" not in terminal.text():
            assert run.poll() is None, terminal.text()[-3000:]
            assert time.monotonic() < deadline, "run never printed its URLs"
            time.sleep(0.2)
        started = psutil.Process(run.pid).children(recursive=True)
        yield run, terminal
    finally:
        for proc in [*started, psutil.Process(run.pid)] if run.poll() is None else started:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        run.wait(10)
        terminal.reader.join(10)
        os.close(terminal.master)


# --- The producer's trades: the POST /v1/trades contract field by field ---


ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


DECIMAL_RE = re.compile(r"^\d+(?:\.(\d+))?$")


TRADE_FIELDS = {"trade_id", "trader_id", "symbol", "side", "quantity", "price"}


def assert_valid_trade(trade: dict) -> None:
    """The contract of POST /v1/trades, checked field by field."""
    assert set(trade) == TRADE_FIELDS
    assert ID_RE.match(trade["trade_id"]), trade
    assert ID_RE.match(trade["trader_id"]), trade
    assert trade["symbol"] in SYMBOLS
    assert trade["side"] in ("buy", "sell")
    spec = SYMBOLS[trade["symbol"]]
    for name, allowed in (("quantity", spec.quantity_decimals), ("price", spec.price_decimals)):
        match = DECIMAL_RE.match(trade[name])
        assert match, trade
        assert len(match.group(1) or "") <= allowed, trade
        assert Decimal(trade[name]) > 0, trade

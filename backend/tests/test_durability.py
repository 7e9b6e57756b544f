"""Nothing acknowledged is lost on power loss either: WAL segments are released only once Redis's copy of their
writes is durable, and a replay after Redis lost its last second restores the totals exactly (issue 14)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leaderboard.config import load_settings
from leaderboard.ingest import durability
from leaderboard.ingest.runtime import IngestRuntime
from leaderboard.ingest.validation import parse_trade
from leaderboard.ingest.writes import trade_write

from .helpers import all_time_totals, oracle, sample_trades


def runtime_for(redis_url: str, data_dir: Path, grace_ms: int) -> IngestRuntime:
    settings = load_settings({"REDIS_URL": redis_url, "DATA_DIR": data_dir, "JWT_SECRET_KEY": "x" * 40,
                              "BUFFER_MAX_AGE_MS": 20, "WAL_SEGMENT_MAX_BYTES": 2048,
                              "REDIS_DURABILITY_GRACE_MS": grace_ms}, environ={})
    runtime = IngestRuntime(settings).start()
    assert runtime.durability is not None and runtime.durability.ensure_probed()  # the flusher does it too
    return runtime


def submit(runtime: IngestRuntime, trades: list[dict]) -> None:
    now = datetime.now(UTC)
    for start in range(0, len(trades), 10):  # several requests: several (small) WAL segments
        runtime.submit([trade_write(parse_trade(raw, now, 5, 10**13)) for raw in trades[start:start + 10]])


def segments(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "wal").glob("wal-*.log"))


@pytest.fixture()
def appendfsync(redis_client):
    """Turn the test Redis's AOF on with an appendfsync policy for one test (the suite runs it without AOF;
    the embedded Redis of `make run` and compose run appendonly yes + everysec)."""
    before = redis_client.config_get("append*")

    def set_policy(policy: str) -> None:
        redis_client.config_set("appendonly", "yes")
        redis_client.config_set("appendfsync", policy)

    yield set_policy
    redis_client.config_set("appendfsync", before["appendfsync"])
    redis_client.config_set("appendonly", before["appendonly"])


def test_the_redis_aof_settings_are_read_at_start_and_said_in_ready_terms(redis_client, appendfsync):
    appendfsync("everysec")
    state = durability.probe(redis_client)
    assert (state["appendonly"], state["appendfsync"]) == ("yes", "everysec")
    assert state["mode"] in (durability.GRACE, durability.WAITAOF)  # WAITAOF from Redis 7.2
    assert state["guarantee"].startswith("power loss")
    appendfsync("always")
    assert durability.probe(redis_client)["mode"] == durability.FSYNC_ALWAYS
    redis_client.config_set("appendonly", "no")
    state = durability.probe(redis_client)
    assert state["mode"] == durability.NO_AOF and state["guarantee"].startswith("process crashes only")


def applied_under_everysec(redis_client, redis_url: str, tmp_path: Path, appendfsync, grace_ms: int,
                           trades: list[dict]) -> IngestRuntime:
    """A runtime on Redis with `appendfsync everysec`, with `trades` submitted and applied."""
    appendfsync("everysec")
    runtime = runtime_for(redis_url, tmp_path, grace_ms=grace_ms)
    if runtime.durability is not None and runtime.durability.mode == durability.WAITAOF:
        runtime.stop()
        pytest.skip("Redis 7.2+ confirms the fsync with WAITAOF: nothing is held")
    submit(runtime, trades)
    assert runtime.drain(10)
    assert all_time_totals(redis_client) == oracle(trades)
    return runtime


def test_applied_segments_stay_until_redis_has_fsynced_them(redis_client, redis_url, tmp_path, appendfsync):
    runtime = applied_under_everysec(redis_client, redis_url, tmp_path, appendfsync, 1500, sample_trades(60))
    assert len(segments(tmp_path)) >= 3  # ...but the sealed segments are kept past Redis's fsync interval
    assert runtime.status()["durability"]["mode"] == durability.GRACE
    deadline = time.monotonic() + 6
    while len(segments(tmp_path)) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(segments(tmp_path)) == 1  # then released: only the active segment is left
    runtime.stop()


def test_a_replay_after_redis_lost_its_last_second_restores_the_totals_exactly(redis_client, redis_url, tmp_path,
                                                                             appendfsync):
    trades = sample_trades(60)
    first = applied_under_everysec(redis_client, redis_url, tmp_path, appendfsync, 60_000, trades)
    # power cut: the process dies (its WAL unlocked, as the kernel does), and Redis comes back without the
    # writes of its last second (everysec had not fsynced them): here, all of them
    first.flusher.stop(1)
    first.wal.close()
    redis_client.flushdb()
    after_reboot = runtime_for(redis_url, tmp_path, grace_ms=50)  # claims the dead process's segments
    assert after_reboot.drain(10)
    assert all_time_totals(redis_client) == oracle(trades)
    assert after_reboot.stop()
    assert segments(tmp_path) == []

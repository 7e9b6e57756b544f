"""`leaderboard consume`: trades from the Redis Stream, exactly once, across consumers that die."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.ingest.consumer import TradeStreamConsumer, stream_drained

from .helpers import all_time_totals, metric_value, oracle, trade, wait_stream_drained


def consumer_settings(redis_url: str, **overrides):
    return load_settings({"REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 40, "CONSUMER_BLOCK_MS": 100,
                          "CONSUMER_CLAIM_IDLE_MS": 500, **overrides}, environ={})


def add_entry(redis, trades) -> str:
    return redis.xadd(keys.trade_stream(), {"trades": orjson.dumps(trades)}).decode()


def test_the_stream_is_drained_only_once_every_entry_is_delivered_and_acked(redis_client, redis_url):
    assert not stream_drained(redis_client, "leaderboard")  # no stream yet
    consumer = TradeStreamConsumer(consumer_settings(redis_url), redis_client, name="c1")
    consumer.ensure_group()
    add_entry(redis_client, [trade("d1", "ann")])
    assert not stream_drained(redis_client, "leaderboard")  # not delivered
    entries = consumer.read_new()
    assert not stream_drained(redis_client, "leaderboard")  # delivered, pending
    consumer.process(entries)
    assert stream_drained(redis_client, "leaderboard")
    assert not stream_drained(redis_client, "another-group")


def test_valid_entries_are_applied_and_acked_invalid_ones_dead_lettered(redis_client, redis_url):
    consumer = TradeStreamConsumer(consumer_settings(redis_url), redis_client, name="c1")
    consumer.ensure_group()
    good = [trade("s1", "ann"), trade("s2", "ben", "ETH")]
    add_entry(redis_client, good)
    bad_id = add_entry(redis_client, [trade("s3", "ann"), {**trade("s4"), "side": "hold"}])
    junk_id = redis_client.xadd(keys.trade_stream(), {"trades": b"{not json"}).decode()
    consumer.process(consumer.read_new())
    assert all_time_totals(redis_client) == oracle(good)
    assert redis_client.xpending(keys.trade_stream(), "leaderboard")["pending"] == 0
    dead = redis_client.xrange(keys.trade_stream_dead())
    assert [fields[b"entry_id"].decode() for _id, fields in dead] == [bad_id, junk_id]
    assert b"trades[1].side" in dead[0][1][b"reason"]


def padded(trades, size: int) -> bytes:
    """A JSON array of `trades`, valid as it is, with whitespace after its `[` to make it `size` bytes long."""
    raw = orjson.dumps(trades)
    assert len(raw) <= size
    return b"[" + b" " * (size - len(raw)) + raw[1:]


def rejected_dead_letters() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("leaderboard_trades_rejected_total", {"reason": "dead_letter"}) or 0.0


def test_an_entry_over_the_http_trade_body_bound_is_dead_lettered_undecoded_and_changes_nothing(redis_client,
                                                                                                 redis_url):
    """A producer can put any size of entry on the stream; the consumer refuses one whose `trades` field is over
    MAX_CONTENT_LENGTH (what a POST /v1/trades body may be) by its length: its valid trades (padded with JSON
    whitespace past the bound) count nowhere, its copy is cut at the bound, and the entries after it are applied."""
    settings = consumer_settings(redis_url)
    limit = settings.MAX_CONTENT_LENGTH
    assert limit == 1024 * 1024  # the default: the HTTP trade body's bound
    consumer = TradeStreamConsumer(settings, redis_client, name="c1")
    consumer.ensure_group()
    big = padded([trade("big1", "ann"), trade("big2", "ben", "ETH"), trade("big3", "cy", "SOL")], limit + 1)
    big_id = redis_client.xadd(keys.trade_stream(), {"trades": big}).decode()
    bad_id = add_entry(redis_client, [trade("b1", "ann"), {**trade("b2"), "side": "hold"}])  # 2 trades refused
    good = [trade("g1", "ann"), trade("g2", "dee", "ETH")]
    add_entry(redis_client, good)
    before = rejected_dead_letters()
    consumer.process(consumer.read_new())
    assert all_time_totals(redis_client) == oracle(good)  # the big entry's trades count nowhere
    assert redis_client.xpending(keys.trade_stream(), "leaderboard")["pending"] == 0  # all acknowledged
    dead = {fields[b"entry_id"].decode(): fields for _id, fields in redis_client.xrange(keys.trade_stream_dead())}
    assert sorted(dead) == sorted([big_id, bad_id])
    assert dead[big_id][b"reason"].decode() == (
        f"trades: too large: {limit + 1} bytes; at most {limit} (MAX_CONTENT_LENGTH), not decoded; "
        f"the copy here keeps its first {limit} bytes")
    assert dead[big_id][b"trades"] == big[:limit]
    assert dead[bad_id][b"reason"].startswith(b"trades[1].side")
    assert rejected_dead_letters() - before == 1 + 2  # the big entry, never decoded, as 1; the bad one's 2 trades
    assert (consumer.dead_entries, consumer.applied_entries) == (2, 1)
    add_entry(redis_client, [trade("g3", "ann")])  # the next reads go on
    consumer.process(consumer.read_new())
    assert all_time_totals(redis_client) == oracle([*good, trade("g3", "ann")])


def test_the_stream_entry_bound_is_max_content_length_at_most(redis_client, redis_url):
    """Set from the environment like every limit: an entry of exactly MAX_CONTENT_LENGTH bytes is applied, one byte
    more is dead-lettered."""
    settings = load_settings({"REDIS_URL": redis_url, "CONSUMER_BLOCK_MS": 100},
                             environ={"JWT_SECRET_KEY": "x" * 40, "MAX_CONTENT_LENGTH": "4096"})
    consumer = TradeStreamConsumer(settings, redis_client, name="c1")
    consumer.ensure_group()
    at_limit, over = [trade("e1", "ann")], [trade("e2", "ben")]
    redis_client.xadd(keys.trade_stream(), {"trades": padded(at_limit, 4096)})
    over_id = redis_client.xadd(keys.trade_stream(), {"trades": padded(over, 4097)}).decode()
    consumer.process(consumer.read_new())
    assert all_time_totals(redis_client) == oracle(at_limit)
    dead = redis_client.xrange(keys.trade_stream_dead())
    assert [fields[b"entry_id"].decode() for _id, fields in dead] == [over_id]
    assert dead[0][1][b"reason"].startswith(b"trades: too large: 4097 bytes; at most 4096 (MAX_CONTENT_LENGTH)")


def test_entries_of_a_dead_consumer_are_claimed_and_count_once(redis_client, redis_url):
    settings = consumer_settings(redis_url)
    dead = TradeStreamConsumer(settings, redis_client, name="dead")
    dead.ensure_group()
    trades = [trade(f"r{i}", "ann") for i in range(5)]
    add_entry(redis_client, trades)
    entries = dead.read_new()  # read, then "died" before applying and acknowledging
    time.sleep(0.6)
    survivor = TradeStreamConsumer(settings, redis_client, name="alive")
    claimed = survivor.claim_stale()
    assert [e[0] for e in claimed] == [e[0] for e in entries]
    survivor.process(claimed)
    survivor.process(claimed)  # redelivered again (e.g. the ack was lost): still once
    assert all_time_totals(redis_client) == oracle(trades)
    assert redis_client.xpending(keys.trade_stream(), "leaderboard")["pending"] == 0


@pytest.mark.slow
def test_three_consumers_one_killed_midway_totals_exact(redis_client, redis_url):
    batches = [[trade(f"m{i}-{j}", f"trader{(i + j) % 7}", ["BTC", "ETH", "SOL", "USDC", "ARB"][j % 5],
                      f"{1 + j}.5", f"{100 + i % 50}.25") for j in range(5)] for i in range(3000)]
    batches += batches[:200]  # the producer re-sent some entries
    pipe = redis_client.pipeline(transaction=False)
    for batch in batches:
        pipe.xadd(keys.trade_stream(), {"trades": orjson.dumps(batch)})
    pipe.execute()
    env = {**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 40, "CONSUMER_COUNT": "20",
           "CONSUMER_BLOCK_MS": "100", "CONSUMER_CLAIM_IDLE_MS": "1000", "LOG_LEVEL": "WARNING"}
    consumers = [subprocess.Popen([sys.executable, "-m", "leaderboard", "consume", "--name", f"c{n}"], env=env)
                 for n in range(3)]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _consumer_has_pending(redis_client, "c0"):
            time.sleep(0.01)
        assert _consumer_has_pending(redis_client, "c0")  # killed holding entries it had not acknowledged
        consumers[0].send_signal(signal.SIGKILL)
        consumers[0].wait(10)
        wait_stream_drained(redis_client, timeout=40)
        for proc in consumers[1:]:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(15) for proc in consumers[1:]] == [0, 0]
    finally:
        for proc in consumers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert all_time_totals(redis_client) == oracle([t for batch in batches for t in batch])
    work = {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
            for c in redis_client.xinfo_consumers(keys.trade_stream(), "leaderboard")}
    assert work == {"c0", "c1", "c2"}


def _consumer_has_pending(redis, name: str) -> bool:
    try:
        consumers = redis.xinfo_consumers(keys.trade_stream(), "leaderboard")
    except Exception:
        return False
    return any((c["name"] in (name, name.encode())) and c["pending"] > 0 for c in consumers)


@pytest.mark.slow
def test_the_consumer_process_serves_its_metrics_on_metrics_bind(redis_client, redis_url):
    import requests

    from leaderboard.embedded_redis import free_port


    first = [trade("k1", "ann"), trade("k2", "ben", "ETH")]
    add_entry(redis_client, first)
    add_entry(redis_client, [trade("k1", "ann"), trade("k3", "ann", "SOL")])  # k1 re-sent
    add_entry(redis_client, [trade("k4"), {**trade("k5"), "side": "hold"}])  # refused whole: 2 trades
    port, token = free_port(), "consumer-scrape-token-0123456789"
    env = {**os.environ, "REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 40, "CONSUMER_BLOCK_MS": "100",
           "LOG_LEVEL": "WARNING", "METRICS_BIND": f"127.0.0.1:{port}", "METRICS_TOKEN": token}
    consumer = subprocess.Popen([sys.executable, "-m", "leaderboard", "consume", "--name", "scraped"], env=env)
    try:
        deadline, text = time.monotonic() + 20, ""
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):  # not listening yet
                text = requests.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"},
                                    timeout=2).text
            if metric_value(text, "leaderboard_trades_rejected_total", reason="dead_letter") and \
                    metric_value(text, "leaderboard_trades_accepted_total", source="stream") == 4:
                break
            time.sleep(0.1)
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 401
        ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=5)  # readiness.ReadyChecks, as the API's
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(15) == 0
    assert metric_value(text, "leaderboard_trades_accepted_total", source="stream") == 4
    assert metric_value(text, "leaderboard_trades_duplicate_total", source="stream") == 1
    report = ready.json()
    assert ready.status_code == 200 and report["status"] == "ok" and report["checks"]["redis"]["ok"], report
    assert report["checks"]["consumer"]["consumer"] == "scraped" and report["checks"]["consumer"]["dead_entries"] == 1
    assert metric_value(text, "leaderboard_trades_rejected_total", reason="dead_letter") == 2
    assert metric_value(text, "leaderboard_flush_batch_size_sum") == 4
    assert all_time_totals(redis_client) == oracle([*first, trade("k3", "ann", "SOL")])


def test_a_consumer_process_settles_its_garbage_collection():
    """`settle_gc` (what both consumers call once started): startup objects frozen out of the collector, the
    youngest generation collected every CONSUMER_GC_THRESHOLD allocations (bench/PROFILE.md: ~13 % of a consumer's
    CPU went to collections under Python's default of 700). In a fresh interpreter, as a consumer process has."""
    code = ("import gc; from leaderboard import defaults; from leaderboard.ingest.consumer import settle_gc; "
            "before = gc.get_threshold()[0]; settle_gc(); "
            "print(before, gc.get_threshold()[0] == defaults.CONSUMER_GC_THRESHOLD, gc.get_freeze_count() > 1000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.split() == ["700", "True", "True"]

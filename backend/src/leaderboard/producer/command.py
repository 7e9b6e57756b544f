"""What `leaderboard produce` does, apart from parsing options: pick credentials and target, wait for the
API in demo mode, run, and (in demo mode only) start again after a persistent error instead of exiting."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import requests
from redis.exceptions import RedisError

from .. import defaults
from ..config import Settings
from ..devstack import no_redis_message
from .delivery import Interrupted, ProducerError, interruptible_sleep
from .http_target import HttpTarget
from .market import TradeGenerator
from .progress import say
from .runner import RunLimits, Target, run
from .stream_target import StreamTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProduceOptions:
    target: str  # "http", "stream" or "kafka"
    url: str
    username: str
    password: str
    seed: int
    traders: int
    symbols: tuple[str, ...]
    limits: RunLimits
    demo: bool = False  # dev account, wait for /ready, keep going after errors (what `leaderboard run` uses)
    competition: str | None = None  # make sure this live demo competition exists first (--competition)
    ready_timeout: float = defaults.PRODUCER_READY_TIMEOUT


def api_ready(url: str) -> bool:
    """The API at base `url` answers /ready with 200."""
    try:
        return requests.get(f"{url.rstrip('/')}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_until_ready(url: str, timeout: float, stopping: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api_ready(url):
            return
        interruptible_sleep(0.25, stopping)
    raise ProducerError(f"the API at {url} was not ready within {timeout:.0f} s")


def _redis(settings: Settings):  # type: ignore[no-untyped-def]
    from ..redis_client import connect

    if not settings.REDIS_URL:
        raise ProducerError(no_redis_message(settings))
    return connect(settings)


def build_target(options: ProduceOptions, settings: Settings, stopping: Callable[[], bool]) -> Target:
    if options.target == "kafka":
        from .kafka_target import KafkaTarget

        return KafkaTarget(settings)
    if options.target == "stream":
        return StreamTarget(
            _redis(settings), settings.PRODUCER_STREAM_MAXLEN, max_attempts=defaults.PRODUCER_MAX_ATTEMPTS,
            stopping=stopping,
        )
    username, password = options.username, options.password
    if settings.DEV_MODE and not (username and password):  # `make run`'s stack, or DEV_MODE=1: the dev account
        from .dev_account import dev_credentials

        username, password = dev_credentials(settings, _redis(settings))
    return HttpTarget(
        options.url, username, password, max_attempts=defaults.PRODUCER_MAX_ATTEMPTS,
        pool_size=max(options.limits.concurrency, 1), stopping=stopping,
    )


def produce(options: ProduceOptions, settings: Settings, stopping: Callable[[], bool]) -> dict[str, object]:
    """Runs the producer; raises ProducerError on a persistent error (never in demo mode). `--duration` counts
    from the first trade on and bounds everything after it: retries, queued batches, demo restarts."""
    generator = TradeGenerator(options.seed, options.traders, options.symbols)
    symbols = ", ".join(generator.symbols)
    say(sys.stderr, f"producing with seed {options.seed} ({options.traders} traders, {symbols})", "producer_start",
        seed=options.seed, traders=options.traders, symbols=list(generator.symbols))
    duration = options.limits.duration
    started: list[float] = []  # when the first run began producing: demo restarts share its --duration

    def done() -> bool:
        return stopping() or bool(duration is not None and started and time.monotonic() >= started[0] + duration)

    while True:
        try:
            if options.demo and options.target == "http":
                wait_until_ready(options.url, options.ready_timeout, done)
            if options.competition:
                from .demo_competition import ensure_demo_competition

                try:
                    comp_id = ensure_demo_competition(_redis(settings), settings, options.competition)
                except RedisError as exc:
                    raise ProducerError(f"could not set up the demo competition: {exc}") from None
                say(sys.stderr, f"feeding competition {comp_id}", "producer_competition", competition=comp_id)
            target = build_target(options, settings, done)
            if options.demo and isinstance(target, HttpTarget):
                from .demo import seed_demo

                seed_demo(target, generator, _redis(settings), done)
            say(sys.stderr, f"target: {target.describe()}", "producer_target", target=target.describe())
            target.start()  # logged in before the clock of --duration starts
            if not started:
                started.append(time.monotonic())
            limits = options.limits
            if duration is not None:
                limits = replace(limits, duration=max(started[0] + duration - time.monotonic(), 0.0))
            return run(generator, target, limits, done, sys.stderr)
        except Interrupted:
            return {}
        except ProducerError as exc:
            if not options.demo:
                raise
            log.error(
                "producer stopped by a persistent error; retrying later",
                extra={"event": "producer_error", "error": str(exc), "retry_in": defaults.PRODUCER_DEMO_RETRY_SECONDS},
            )
            try:
                interruptible_sleep(defaults.PRODUCER_DEMO_RETRY_SECONDS, done)
            except Interrupted:
                return {}

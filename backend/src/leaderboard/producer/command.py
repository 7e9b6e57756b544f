"""What `leaderboard produce` does, apart from parsing options: pick credentials and target, wait for the
API in demo mode, run, and (in demo mode only) start again after a persistent error instead of exiting."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .. import defaults
from ..config import Settings
from .delivery import Interrupted, ProducerError, interruptible_sleep
from .http_target import HttpTarget
from .market import TradeGenerator
from .runner import RunLimits, Target, run
from .stream_target import StreamTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProduceOptions:
    target: str  # "http" or "stream"
    url: str
    username: str
    password: str
    seed: int
    traders: int
    symbols: tuple[str, ...]
    limits: RunLimits
    demo: bool = False  # dev account, wait for /ready, keep going after errors (what `leaderboard run` uses)
    ready_timeout: float = defaults.PRODUCER_READY_TIMEOUT


def api_base_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


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
    from ..redis_conn import connect

    if not settings.REDIS_URL:
        raise ProducerError("set REDIS_URL to the service's Redis (see `make run` output)")
    return connect(settings)


def build_target(options: ProduceOptions, settings: Settings, stopping: Callable[[], bool]) -> Target:
    if options.target == "stream":
        return StreamTarget(
            _redis(settings), settings.PRODUCER_STREAM_MAXLEN, max_attempts=defaults.PRODUCER_MAX_ATTEMPTS,
            stopping=stopping,
        )
    username, password = options.username, options.password
    if options.demo and not (username and password):
        from .dev_account import dev_credentials

        username, password = dev_credentials(settings, _redis(settings))
    return HttpTarget(
        options.url, username, password, max_attempts=defaults.PRODUCER_MAX_ATTEMPTS,
        pool_size=max(options.limits.concurrency, 1), stopping=stopping,
    )


def produce(options: ProduceOptions, settings: Settings, stopping: Callable[[], bool]) -> dict[str, object]:
    """Runs the producer; raises ProducerError on a persistent error (never in demo mode)."""
    generator = TradeGenerator(options.seed, options.traders, options.symbols)
    symbols = ", ".join(generator.symbols)
    sys.stderr.write(f"producing with seed {options.seed} ({options.traders} traders, {symbols})\n")
    while True:
        try:
            if options.demo and options.target == "http":
                wait_until_ready(options.url, options.ready_timeout, stopping)
            target = build_target(options, settings, stopping)
            sys.stderr.write(f"target: {target.describe()}\n")
            return run(generator, target, options.limits, stopping, sys.stderr)
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
                interruptible_sleep(defaults.PRODUCER_DEMO_RETRY_SECONDS, stopping)
            except Interrupted:
                return {}

"""The `leaderboard` command: serve, run (everything, for development), redis, create-user, ..."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from . import defaults
from .config import ConfigError, Settings, load_settings
from .devstack import no_redis_message
from .logs import configure_logging
from .signals import stop_on_signals

log = logging.getLogger(__name__)


def _settings(attach: bool = True, need_secret: bool = True, **overrides: object) -> Settings:
    """Settings from the environment; with `attach`, a client command run without REDIS_URL uses the
    `leaderboard run` stack of the data dir (its Redis, API address and dev secret)."""
    from .devstack import attach_overrides

    found = attach_overrides(os.environ) if attach else {}
    try:
        return load_settings({**found, **{k: v for k, v in overrides.items() if v is not None}},
                             need_secret=need_secret)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _owned_by_run(settings: Settings) -> None:
    """Commands that would start an embedded Redis on a data dir a running `leaderboard run` owns stop here."""
    from .devstack import running_stack

    stack = None if settings.REDIS_URL else running_stack(settings.DATA_DIR)
    if stack is not None:
        raise click.ClickException(
            f"`leaderboard run` (pid {stack['pid']}) is already running on the data dir {stack['data_dir']}: "
            f"its dashboard is {stack['api']}/ (`leaderboard status` says more). Stop it with Ctrl-C in its "
            "terminal, or use another DATA_DIR."
        )


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[str]:
    """REDIS_URL if set; otherwise an embedded redis-server under DATA_DIR/redis for the block's duration."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    from .embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(settings.redis_dir, preferred_port=settings.EMBEDDED_REDIS_PORT).start()
    try:
        yield server.url
    finally:
        server.stop()


@click.group()
@click.version_option(package_name="leaderboard")
def main() -> None:
    """Leaderboard: real-time leaderboards for trading venues and games."""


def _use_metrics_dir(path: Path) -> None:
    """Multiprocess Prometheus metrics: an empty directory every worker (forked later) writes samples to.
    Must run before prometheus_client is imported: it picks its storage at import."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path.resolve())


@main.command()
@click.option("--bind", help="host:port to listen on (BIND)")
@click.option("--workers", type=int, help="worker processes (WEB_WORKERS)")
def serve(bind: str | None, workers: int | None) -> None:
    """Run the API under granian, or gunicorn with WEB_SERVER=gunicorn (starts an embedded Redis when REDIS_URL
    is unset)."""
    from .devstack import bind_problem

    settings = _settings(attach=False, BIND=bind, WEB_WORKERS=workers)
    configure_logging(settings.LOG_LEVEL)
    _owned_by_run(settings)
    problem = bind_problem(settings.BIND)
    if problem:
        raise click.ClickException(problem)
    _use_metrics_dir(settings.DATA_DIR / "prometheus")  # before anything imports metrics: it picks the mode
    from . import create_app, web_server

    web_server.install_worker_hooks()

    with redis_for(settings) as url:
        os.environ["REDIS_URL"] = url  # workers build their app from the environment after fork
        settings = _settings(attach=False, BIND=bind, WEB_WORKERS=workers)
        web_server.run(settings, create_app)


@main.command("redis")
def redis_command() -> None:
    """Run the embedded Redis in the foreground (data under DATA_DIR/redis) until Ctrl-C / SIGTERM."""
    settings = _settings(attach=False)
    configure_logging(settings.LOG_LEVEL)
    _owned_by_run(settings)
    from .embedded_redis import EmbeddedRedis

    stop = stop_on_signals("redis")
    with EmbeddedRedis(settings.redis_dir, preferred_port=settings.EMBEDDED_REDIS_PORT) as server:
        click.echo(f"REDIS_URL={server.url}", err=True)
        while not stop():
            time.sleep(0.2)


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["trader", "service", "admin"]), default="trader", show_default=True)
@click.option("--display-name", default=None)
def create_user(username: str, password: str, role: str, display_name: str | None) -> None:
    """Create an account (service and admin accounts are made only this way)."""
    from .auth.users import UserError, UserStore, validate_new_user
    from .redis_client import connect

    settings = _settings()
    if not settings.REDIS_URL:
        raise click.ClickException(no_redis_message(settings))
    try:
        fields = validate_new_user(username, password, display_name, role, settings.PASSWORD_MIN_LENGTH)
    except UserError as exc:
        raise click.ClickException(f"{exc.field}: {exc}") from None
    if UserStore(connect(settings)).create(*fields) is None:
        raise click.ClickException(f"user {username!r} already exists")
    click.echo(f"created {role} {username!r}")


@main.command()
def scheduler() -> None:
    """Run the job scheduler (snapshot refresh, rolling windows, midnight rollover) in the foreground."""
    settings = _settings()
    configure_logging(settings.LOG_LEVEL)
    if not settings.REDIS_URL:
        raise click.ClickException(no_redis_message(settings))
    from .jobs.scheduler import run_scheduler
    from .redis_client import connect

    sys.exit(run_scheduler(connect(settings), settings))


@main.command()
@click.option("--rate", type=float, help="trades per second; 0 = as fast as the target takes them (PRODUCER_RATE)")
@click.option("--duration", type=float, help="stop after this many seconds")
@click.option("--count", type=int, help="stop after this many trades")
@click.option("--traders", type=int, default=None, help="distinct traders  [default: 100]")
@click.option("--symbols", default=None, help="comma-separated symbols  [default: BTC,ETH,SOL,USDC,ARB]")
@click.option("--batch-size", type=int, default=None, help="trades per request / stream entry  [default: 100]")
@click.option("--target", type=click.Choice(["http", "stream", "kafka"]), default="http", show_default=True,
              help="the API, the Redis Stream, or the Kafka topic KAFKA_TOPIC (one message per trader, keyed by it)")
@click.option("--url", default=None, help="API base URL  [default: http://BIND]")
@click.option("--seed", type=int, default=None, help="same seed, same trades (default: random, printed)")
@click.option("--concurrency", type=int, default=None, help="sender threads  [default: 1, or 4 with --rate 0]")
@click.option("--username", default=None, help="service account (PRODUCER_USERNAME)")
@click.option("--password", default=None, help="its password (PRODUCER_PASSWORD)")
@click.option("--demo", is_flag=True, help="dev account, wait for /ready, keep going after errors (leaderboard run)")
@click.option("--competition", default=None, metavar="ID",
              help="first make sure a live demo competition ID exists (volume, every trader ranks) for the trades")
def produce(
    rate: float | None, duration: float | None, count: int | None, traders: int | None, symbols: str | None,
    batch_size: int | None, target: str, url: str | None, seed: int | None, concurrency: int | None,
    username: str | None, password: str | None, demo: bool, competition: str | None,
) -> None:
    """Mock trade producer: realistic, reproducible trades to the API (service account), the Redis Stream or
    a Kafka topic."""
    import secrets as _secrets

    from .devstack import api_base_url
    from .producer.command import ProduceOptions
    from .producer.command import produce as run_producer
    from .producer.delivery import ProducerError
    from .producer.runner import RunLimits

    settings = _settings()
    configure_logging(settings.LOG_LEVEL)
    rate = settings.PRODUCER_RATE if rate is None else rate
    batch_size = batch_size or defaults.PRODUCER_BATCH_SIZE
    checks = {
        "--rate must be >= 0": rate < 0,
        "--duration must be > 0": duration is not None and duration <= 0,
        "--count must be > 0": count is not None and count <= 0,
        f"--batch-size must be 1..{settings.MAX_BATCH} (MAX_BATCH)": not 1 <= batch_size <= settings.MAX_BATCH,
        "--traders must be > 0": traders is not None and traders <= 0,
        "--concurrency must be 1..64": concurrency is not None and not 1 <= concurrency <= 64,
    }
    for message, failed in checks.items():
        if failed:
            raise click.UsageError(message)
    chosen = tuple(s.strip().upper() for s in symbols.split(",") if s.strip()) if symbols else ()
    from .producer.market import MARKETS

    unknown = [s for s in chosen if s not in MARKETS]
    if unknown:
        raise click.UsageError(f"unknown symbol(s) {', '.join(unknown)}; choose from {', '.join(MARKETS)}")
    if competition is not None:
        from .competitions.model import COMPETITION_ID_PATTERN

        if not COMPETITION_ID_PATTERN.fullmatch(competition) or len(competition) > 35:
            raise click.UsageError("--competition: 1-35 chars of a-z, 0-9, '_' or '-', starting with a letter or digit")
    options = ProduceOptions(
        target=target,
        url=url or api_base_url(settings.BIND),
        username=username or settings.PRODUCER_USERNAME,
        password=password or settings.PRODUCER_PASSWORD,
        seed=_secrets.randbelow(10**9) if seed is None else seed,
        traders=traders or defaults.PRODUCER_TRADERS,
        symbols=chosen or tuple(MARKETS),
        limits=RunLimits(
            rate=rate, duration=duration, count=count, batch_size=batch_size,
            concurrency=concurrency or (4 if rate == 0 else 1),
            max_rejected_batches=defaults.PRODUCER_MAX_REJECTED_BATCHES,
        ),
        demo=demo,
        competition=competition,
    )
    try:
        run_producer(options, settings, stop_on_signals("produce"))
    except ProducerError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--source", type=click.Choice(["stream", "kafka"]), default="stream", show_default=True,
              help="the Redis Stream, or the Kafka topic KAFKA_TOPIC at KAFKA_BOOTSTRAP_SERVERS")
@click.option("--name", default=None, help="consumer name (default: host-pid; stream only)")
@click.option("--group", default=None, help="consumer group (CONSUMER_GROUP, or KAFKA_GROUP_ID for kafka)")
def consume(source: str, name: str | None, group: str | None) -> None:
    """Apply trades from the Redis Stream or a Kafka topic (a consumer group; several consumers split the
    work). First SIGTERM/SIGINT finishes the batch in hand; a second exits at once."""
    settings = _settings()
    configure_logging(settings.LOG_LEVEL)
    if not settings.REDIS_URL:
        raise click.ClickException(no_redis_message(settings))
    if source == "kafka":
        if name is not None:
            raise click.UsageError("--name is for the stream; Kafka names its group members itself")
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise click.ClickException("set KAFKA_BOOTSTRAP_SERVERS (host:port of the Kafka brokers)")
        from .ingest.kafka_source import run_kafka_consumer

        run_kafka_consumer(settings, group=group)
        return
    from .ingest.consumer import run_consumer

    run_consumer(settings, name=name, group=group)


@main.command()
def status() -> None:
    """What is running where: the `leaderboard run` stack of the data dir (or REDIS_URL and BIND), and
    whether its API and Redis answer. Exit status 0 when the API is ready, 1 otherwise."""
    from . import devstack

    settings = _settings(need_secret=False)
    sys.exit(devstack.print_status(settings, devstack.running_stack(settings.DATA_DIR), click.echo))


@main.command()
@click.option("--source", type=click.Choice(["kafka"]), required=True, help="where the trades are (the Kafka topic)")
@click.option("--from-beginning", is_flag=True, required=True, help="read the topic from its first offset (required)")
@click.option("--force", is_flag=True, help="run even while the consumer group has members (unsafe)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
def rebuild(source: str, from_beginning: bool, force: bool, no_progress: bool) -> None:
    """Recompute the trade boards from the Kafka topic into fresh keys and swap them in, board by board,
    atomically; prints each board's members and total before and after."""
    settings = _settings()
    configure_logging(settings.LOG_LEVEL)
    if not from_beginning:
        raise click.UsageError("--from-beginning is required (the only mode: the whole topic)")
    if not settings.REDIS_URL or not settings.KAFKA_BOOTSTRAP_SERVERS:
        raise click.ClickException("set REDIS_URL and KAFKA_BOOTSTRAP_SERVERS")
    from .ingest.rebuild import RebuildRefused, rebuild_from_kafka
    from .redis_client import connect

    try:
        report = rebuild_from_kafka(settings, connect(settings), force=force, out=sys.stderr,
                                    progress_bar=not no_progress)
    except RebuildRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"read {report.messages:,} messages ({report.invalid:,} invalid, skipped), {report.writes:,} trades")
    click.echo(f"{'board':<14} {'members before':>15} {'cents before':>18} {'members after':>14} {'cents after':>18}")
    for board, (members, total) in report.before.items():
        after_members, after_total = report.after[board]
        mark = "" if (members, total) == (after_members, after_total) else "  DIFFERS"
        click.echo(f"{board:<14} {members:>15,} {total:>18,} {after_members:>14,} {after_total:>18,}{mark}")
    click.echo("totals: equal to the live boards" if report.equal else "totals: the rebuilt boards differ (see above)")


# Child commands `run` supervises, after Redis: name -> argv after `leaderboard`.
RUN_CHILDREN: dict[str, list[str]] = {"api": ["serve"]}
RUN_CHILDREN["scheduler"] = ["scheduler"]
# gentle demo rate (PRODUCER_RATE) once /ready answers, feeding a live demo competition
RUN_CHILDREN["producer"] = ["produce", "--demo", "--competition", defaults.RUN_DEMO_COMPETITION]


def _early_demo_refresh(redis_url: str, settings: Settings) -> Callable[[], bool]:
    """The scheduler snapshots every board when it starts, before the demo producer's first trade, so a fresh
    data dir would show empty lists until the next tick (up to REFRESH_SECONDS). The returned check refreshes
    the snapshots once, as soon as a few traders are on the board; True once done or no longer useful."""
    from datetime import UTC, datetime

    import redis as redis_lib
    from redis.exceptions import RedisClusterException

    from . import keys
    from .jobs import tasks
    from .ranking.boards import ALL_VOLUME, BoardRegistry
    from .redis_client import connect

    deadline = time.monotonic() + settings.REFRESH_SECONDS  # by then the scheduler has refreshed anyway
    clients: list[Any] = []

    def check() -> bool:
        try:
            if not clients:
                clients.append(connect(settings, redis_url))  # a cluster client for a cluster URL
            client = clients[0]
            today = keys.day(ALL_VOLUME, datetime.now(UTC).date())  # not all time: the demo backfills past days
            if client.zcard(today) < defaults.RUN_DEMO_REFRESH_MEMBERS:
                return time.monotonic() > deadline
            result = tasks.refresh_snapshots(client, BoardRegistry(client).all().values(), datetime.now(UTC), settings)
        except (redis_lib.RedisError, RedisClusterException):  # best effort: the next tick refreshes anyway
            return time.monotonic() > deadline
        log.info("demo trades are in: snapshots refreshed early", extra={"event": "demo_refresh", **result})
        return True

    return check


@main.command()
def run() -> None:
    """Everything for development: embedded Redis, the API (and scheduler, producer when present);
    prints the URLs, then only warnings, errors and a status line (every log line goes to
    DATA_DIR/logs/leaderboard.log); Ctrl-C stops all of it cleanly."""
    from . import devstack
    from .devstack import api_base_url
    from .embedded_redis import die_with_parent
    from .producer.command import api_ready

    os.environ.setdefault("DEV_MODE", "1")
    settings = _settings(attach=False)
    _owned_by_run(settings)
    problem = devstack.bind_problem(settings.BIND)  # before anything starts
    if problem:
        raise click.ClickException(problem)
    data_dir = settings.DATA_DIR.resolve()
    log_path = data_dir / devstack.LOG_DIR / devstack.LOG_FILE
    console = devstack.Console(sys.stderr, log_path)
    configure_logging(settings.LOG_LEVEL)
    devstack.log_to_console(console)
    console.say(f"Starting Redis, the API, scheduler and demo producer; all logs go to {log_path}")
    stopping = stop_on_signals("run")
    children: dict[str, subprocess.Popen[bytes]] = {}
    pumps = []
    base = api_base_url(settings.BIND)
    try:
        with redis_for(settings) as url:
            env = {**os.environ, "REDIS_URL": url}
            state = {
                "pid": os.getpid(), "data_dir": str(data_dir), "redis_url": url, "api": base, "bind": settings.BIND,
                "log_file": str(log_path), "dev_mode": settings.DEV_MODE, "started_at": time.time(), "up": False,
                "embedded_redis": not settings.REDIS_URL, "children": {},
            }
            try:
                for name, argv in RUN_CHILDREN.items():
                    # own sessions: a terminal's Ctrl-C reaches only this process, which stops them in order;
                    # and they die with it if it is killed. Their output goes through the console.
                    children[name] = child = subprocess.Popen(
                        [sys.executable, "-m", "leaderboard", *argv], env=env, start_new_session=True,
                        preexec_fn=die_with_parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                    )
                    assert child.stdout is not None
                    pumps.append(console.pump(name, child.stdout))
                state["children"] = {name: child.pid for name, child in children.items()}
                devstack.write_state(data_dir, state)
                _supervise(settings, url, base, children, console, stopping, lambda: api_ready(base), state)
            finally:
                for child in children.values():
                    if child.poll() is None:
                        child.send_signal(signal.SIGTERM)
                for child in children.values():
                    try:
                        child.wait(timeout=40)
                    except subprocess.TimeoutExpired:
                        child.kill()
                for pump in pumps:
                    pump.join(timeout=5)  # their last lines (final flushes) into the log file
                devstack.clear_state(data_dir)
    finally:
        console.close()


def _supervise(
    settings: Settings, url: str, base: str, children: dict[str, subprocess.Popen[bytes]], console: Any,
    stopping: Callable[[], bool], api_ready: Callable[[], bool], state: dict[str, Any],
) -> None:
    """run's loop: the banner once the API answers and the demo trades show, then the status line."""
    from . import devstack

    early_refresh = _early_demo_refresh(url, settings)
    sampler = devstack.StatusSampler(base, settings.METRICS_TOKEN)
    refreshed = announced = False
    ready_at: float | None = None
    next_status = 0.0
    while not stopping():
        for name, child in children.items():
            if child.poll() is not None:
                raise click.ClickException(
                    f"{name} exited with {child.returncode} (its warnings and errors are above; every line is in "
                    f"{console.log_path})"
                )
        refreshed = refreshed or early_refresh()
        if ready_at is None and api_ready():
            ready_at = time.monotonic()
        # the URLs once the API answers and the demo trades show (or have had their chance to)
        if not announced and ready_at is not None and (
            refreshed or time.monotonic() > ready_at + defaults.RUN_ANNOUNCE_WAIT_SECONDS
        ):
            announced = True
            console.say(
                f"\n  Leaderboard is up (Ctrl-C to stop)\n  dashboard  {base}/\n  API docs   {base}/apidocs/\n"
                f"  OpenAPI    {base}/openapi.json\n  Redis      {url}\n  logs       {console.log_path}\n"
                "  more       `leaderboard status`; other commands (create-user, produce) find this stack by itself\n"
            )
            devstack.write_state(Path(state["data_dir"]), {**state, "up": True})
            sampler.line()  # the first sample: the status line's rate counts from here
            next_status = time.monotonic() + defaults.RUN_STATUS_SECONDS
        if announced and time.monotonic() >= next_status:
            next_status = time.monotonic() + defaults.RUN_STATUS_SECONDS
            console.set_status(sampler.line())
        time.sleep(0.2)


if __name__ == "__main__":
    main()

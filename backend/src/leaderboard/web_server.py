"""The HTTP server of `leaderboard serve`: granian (the default, measured in bench/PROFILE.md) or gunicorn
(`WEB_SERVER=gunicorn`), and the per-worker hooks both of them run.

Components with per-worker state (the ingest write path, the live marks, the multiprocess metrics) add callbacks
to `WORKER_HOOKS` (worker_hooks.py; `install_worker_hooks()` below adds the service's); each is called with
`(server, worker)`, where `worker.pid` is the worker's process id:

| hook | where it runs | when |
|---|---|---|
| `post_fork` | in the worker | after it started, before it serves a request |
| `worker_exit` | in the worker | after it stopped serving (SIGTERM/SIGINT, or its master died) |
| `child_exit` | in the master | after a worker is gone, however it died (also SIGKILL) |
| `on_exit` | in the master | when the server stops (gunicorn only) |
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from . import metrics
from .config import Settings, load_settings
from .ingest import runtime
from .read_cache import live_marks_post_fork
from .worker_hooks import WORKER_HOOKS

log = logging.getLogger(__name__)


def _start_write_path(_server: Any, _worker: Any) -> None:
    settings = load_settings()
    if settings.INGEST_ENABLED:
        runtime.start(settings)


def _stop_write_path(_server: Any, _worker: Any) -> None:
    settings = load_settings()
    # leave a margin inside the server's graceful timeout, after which the master SIGKILLs the worker
    runtime.stop(timeout=max(1.0, settings.WEB_GRACEFUL_TIMEOUT - 2.0))


def install_worker_hooks() -> None:
    """The service's per-worker hooks: the write path starts in every worker after fork (replaying the WAL of
    dead ones) and flushes when the worker exits; every worker hears the live ticker; the live gauges of a
    worker that is gone are dropped (in the master too, so a SIGKILLed worker's count)."""
    if _start_write_path in WORKER_HOOKS["post_fork"]:
        return
    WORKER_HOOKS["post_fork"].extend([_start_write_path, live_marks_post_fork])
    WORKER_HOOKS["worker_exit"].extend([_stop_write_path, metrics.mark_worker_dead])
    WORKER_HOOKS["child_exit"].append(metrics.mark_worker_dead)


def settle_worker(settings: Settings) -> None:
    """In a worker, once its app is built, before it serves (bench/PROFILE.md, "The single POST's tail"):
    - everything alive now (modules, the app, its caches) moves to the collector's permanent generation
      (`gc.freeze`): a full collection under load then walks only what was made since, instead of the whole heap
      (60-180 ms with the GIL held, every ~2 s per worker at 3,000 POST/s, measured);
    - the GIL switch interval becomes WEB_SWITCH_INTERVAL_MS: how long the event loop (and granian's thread
      handing it requests) may wait for the GIL while the group commit or flusher thread runs Python."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(settings.WEB_SWITCH_INTERVAL_MS / 1000)
    log.info("worker settled", extra={"event": "worker_settled", "pid": os.getpid(),
                                      "gc_frozen": gc.get_freeze_count(),
                                      "switch_interval_ms": round(sys.getswitchinterval() * 1000, 3)})


def run(settings: Settings, app_factory: Callable[[], Any], native: bool = False) -> None:
    """Serve `app_factory()` (called once per worker) with the server `settings.WEB_SERVER` names until stopped;
    with WEB_INTERFACE=asgi (the default) wrapped in the live router (live/asgi.py), which serves the streams.
    `native`: the factory already makes an app of the interface (the bench's bare ASGI ceiling), served as is."""
    if settings.WEB_INTERFACE == "asgi" and not native:
        from .live.asgi import build

        flask_factory = app_factory

        def app_factory() -> Any:
            return build(flask_factory(), settings)

    built_factory = app_factory

    def worker_app() -> Any:  # called once in every worker (both servers), after fork
        app = built_factory()
        settle_worker(settings)
        return app

    if settings.WEB_SERVER == "gunicorn":
        from .gunicorn_app import GunicornApp

        GunicornApp(settings, worker_app).run()
    else:
        from .granian_app import run_granian

        run_granian(settings, worker_app)

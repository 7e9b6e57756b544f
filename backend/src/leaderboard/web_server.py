"""The HTTP server of `leaderboard serve`: granian (the default, measured in bench/PROFILE.md) or gunicorn
(`WEB_SERVER=gunicorn`), and the per-worker hooks both of them run.

Components with per-worker state (the ingest write path, the multiprocess metrics) add callbacks to
`WORKER_HOOKS`; each is called with `(server, worker)`, where `worker.pid` is the worker's process id:

| hook | where it runs | when |
|---|---|---|
| `post_fork` | in the worker | after it started, before it serves a request |
| `worker_exit` | in the worker | after it stopped serving (SIGTERM/SIGINT, or its master died) |
| `child_exit` | in the master | after a worker is gone, however it died (also SIGKILL) |
| `on_exit` | in the master | when the server stops (gunicorn only) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Settings

WORKER_HOOKS: dict[str, list[Callable[..., Any]]] = {
    "post_fork": [], "worker_exit": [], "on_exit": [], "child_exit": [],
}


@dataclass(frozen=True)
class WorkerInfo:
    """What a hook learns about a granian worker (gunicorn passes its own worker object)."""

    pid: int


def call_hooks(name: str, *args: Any) -> None:
    for callback in WORKER_HOOKS[name]:
        callback(*args)


def run(settings: Settings, app_factory: Callable[[], Any]) -> None:
    """Serve `app_factory()` (called once per worker) with the server `settings.WEB_SERVER` names until stopped;
    with WEB_INTERFACE=asgi (the default) wrapped in the live router (live/asgi.py), which serves the streams."""
    if settings.WEB_INTERFACE == "asgi":
        from .live.asgi import build

        flask_factory = app_factory

        def app_factory() -> Any:
            return build(flask_factory(), settings)

    if settings.WEB_SERVER == "gunicorn":
        from .gunicorn_app import GunicornApp

        GunicornApp(settings, app_factory).run()
    else:
        from .granian_app import run_granian

        run_granian(settings, app_factory)

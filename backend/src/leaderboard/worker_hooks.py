"""The seam between a web server and the service's per-worker state: `WORKER_HOOKS`, which gunicorn_app and
granian_app call (web_server.py says when each hook runs and installs the service's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .signals import start_up_step

WORKER_HOOKS: dict[str, list[Callable[..., Any]]] = {
    "post_fork": [], "worker_exit": [], "on_exit": [], "child_exit": [],
}


@dataclass(frozen=True)
class WorkerInfo:
    """What a hook learns about a granian worker (gunicorn passes its own worker object)."""

    pid: int


def call_hooks(name: str, *args: Any) -> None:
    for callback in WORKER_HOOKS[name]:
        with start_up_step():  # a stop while a worker starts interrupts it between hooks, never inside one
            callback(*args)

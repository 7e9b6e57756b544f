"""Runs the API under gunicorn (`WEB_SERVER=gunicorn`), in-process, with settings from `Settings` (no
separate config file to keep in sync). Its hooks run `web_server.WORKER_HOOKS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .config import Settings
from .logs import JsonFormatter
from .web_server import call_hooks


def _post_fork(server: Any, worker: Any) -> None:
    call_hooks("post_fork", server, worker)


def _worker_exit(server: Any, worker: Any) -> None:
    call_hooks("worker_exit", server, worker)


def _child_exit(server: Any, worker: Any) -> None:
    """In the master, after it reaped a worker (also one killed with SIGKILL)."""
    call_hooks("child_exit", server, worker)


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's own log lines (boot, worker starts and exits) in the service's JSON line format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonFormatter())


def _on_exit(server: Any) -> None:
    call_hooks("on_exit", server)


class GunicornApp(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, app_factory: Callable[[], Any]) -> None:
        self.settings = settings
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options = {
            "bind": s.BIND,
            "workers": s.WEB_WORKERS,
            "worker_class": s.WEB_WORKER_CLASS,
            "threads": s.WEB_THREADS,
            "timeout": s.WEB_TIMEOUT,
            "graceful_timeout": s.WEB_GRACEFUL_TIMEOUT,
            "keepalive": 5,
            "limit_request_line": s.MAX_REQUEST_LINE,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": s.LOG_LEVEL.lower(),
            "post_fork": _post_fork,
            "worker_exit": _worker_exit,
            "on_exit": _on_exit,
            "child_exit": _child_exit,
            "logger_class": JsonLogger,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app_factory()

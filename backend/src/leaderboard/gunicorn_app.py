"""Runs the API under gunicorn (`WEB_SERVER=gunicorn`), in-process, with settings from `Settings` (no
separate config file to keep in sync). Its hooks run `worker_hooks.WORKER_HOOKS`.

Workers are forked with the stop signals held (signals.stop_signals_held) until their start-up handler is in
(signals.start_up_interruptible, in `_post_fork`): a SIGTERM/SIGINT that comes while a worker starts (write path
start, app build) interrupts its start-up at once; gunicorn's exit path runs worker_exit (the final flush of what
it started) and the worker exits 0. Not the arbiter's handler copied by fork (lost: the master waited
WEB_GRACEFUL_TIMEOUT out and killed it), nor uvicorn's default action while the app loads (killed with no
flush), nor a wait for the whole start-up (longer than WEB_GRACEFUL_TIMEOUT under a load of ~10). Once the
worker's own handler is in (gunicorn's `post_worker_init`, uvicorn's serve) a stop recorded meanwhile stops it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import orjson
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger
from gunicorn.http import wsgi as gunicorn_wsgi

from .config import Settings
from .logs import JsonFormatter
from .signals import (
    StoppedWhileStarting,
    end_of_start_up,
    end_start_up_interruptions,
    start_up_interruptible,
    stop_signals_held,
)
from .worker_hooks import call_hooks

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 413: "payload_too_large", 414: "uri_too_long", 431: "request_header_fields_too_large"}


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own refusals (a request line or header over its limits, a malformed request), which it
    answers before the app sees the request, in the service's error shape instead of an HTML page."""
    body = orjson.dumps({"error": {"code": _CODES.get(status_int, "bad_request"), "message": f"{reason}: {mesg}",
                                   "details": {}}})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


gunicorn_util.write_error = write_json_error  # the workers call util.write_error for these

_process_headers = gunicorn_wsgi.Response.process_headers


def _process_headers_closing(self: Any, headers: Any) -> None:
    """gunicorn drops an application's hop-by-hop `Connection` header; the app sends `Connection: close` when
    it left a request body unread (413), so honour it: gunicorn then answers `Connection: close` and closes,
    instead of `keep-alive` and a socket the client's next pooled request would find closed."""
    if any(str(name).lower() == "connection" and str(value).strip().lower() == "close" for name, value in headers):
        self.must_close = True
    _process_headers(self, headers)


gunicorn_wsgi.Response.process_headers = _process_headers_closing


def _post_fork(server: Any, worker: Any) -> None:
    start_up_interruptible()  # a stop held since the fork raises here (_Arbiter.spawn_worker ends the worker)
    call_hooks("post_fork", server, worker)


def _post_worker_init(worker: Any) -> None:
    """In the worker, after it installed its signal handlers and loaded the app, before it serves."""
    if not getattr(worker, "ENDS_START_UP", False):  # the ASGI worker does once uvicorn's handler is in
        end_of_start_up()  # gunicorn's handler is in since init_signals; one that came before stops it here


def _worker_exit(server: Any, worker: Any) -> None:
    end_start_up_interruptions()  # a stop from here on does not interrupt the final flush
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


class _Arbiter(Arbiter):  # type: ignore[misc]
    def spawn_worker(self) -> Any:
        with stop_signals_held():  # the forked worker keeps them held until its start-up handler is in
            try:
                return super().spawn_worker()
            except StoppedWhileStarting as stop:  # in the worker, after gunicorn's exit path ran worker_exit
                log.info("worker stopped while starting", extra={"event": "worker_stopped_starting",
                                                                 "pid": os.getpid(), "signal": stop.args[0]})
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                # as a worker's normal end, but without the interpreter's finalization, which a worker starved of
                # CPU would make last seconds (measured: 4 s of the test's 7), nor the unwinding of the arbiter's
                # stack copied by fork
                os._exit(0)


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
            "worker_class": "leaderboard.live.uvicorn_worker.LiveUvicornWorker" if s.WEB_INTERFACE == "asgi"
            else s.WEB_WORKER_CLASS,
            "threads": s.WEB_THREADS,
            "timeout": s.WEB_TIMEOUT,
            "graceful_timeout": s.WEB_GRACEFUL_TIMEOUT,
            "keepalive": 5,
            "limit_request_line": s.MAX_REQUEST_LINE,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": s.LOG_LEVEL.lower(),
            "post_fork": _post_fork,
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            "on_exit": _on_exit,
            "child_exit": _child_exit,
            "logger_class": JsonLogger,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app_factory()

    def run(self) -> None:
        _Arbiter(self).run()  # BaseApplication.run's arbiter, holding the stop signals over each fork

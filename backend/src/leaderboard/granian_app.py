"""Runs the API under granian (the default `WEB_SERVER`): its WSGI interface, `WEB_WORKERS` processes with
`WEB_BLOCKING_THREADS` Python threads each, HTTP/1.1 (measured against gunicorn in bench/PROFILE.md).

What gunicorn's hooks gave the service, and how it is kept here (`worker_hooks.WORKER_HOOKS`):
- each worker runs `post_fork` before it serves (the write path starts and claims dead workers' WAL) and
  `worker_exit` once granian stopped serving after SIGTERM/SIGINT (the write path's final flush);
- a worker that dies any other way (SIGKILL, OOM) is respawned by the master, and `child_exit` runs in the
  master for it (its live metrics are dropped); its WAL is claimed by the other workers or the new one;
- a worker dies with its master, even on SIGKILL of the master (PR_SET_PDEATHSIG: it gets SIGTERM and
  flushes), like gunicorn's workers noticing their parent is gone;
- the master gives workers `WEB_GRACEFUL_TIMEOUT` seconds to finish before it kills them;
- a stop signal at any moment of a worker's start-up ends it within moments (`_spawn_worker`,
  signals.start_up_interruptible): it is forked with its stop signals held until its start-up handler is in (its
  first act); that handler interrupts the start-up (the app build, or between post_fork hooks) with
  StoppedWhileStarting, and the worker runs `worker_exit` (the final flush of what it started) and exits 0.
  Once granian's part of the start-up begins, a signal is recorded and handed to granian's handler when its
  loop runs. (Held until the worker served, as before, a stop waited for the whole start-up: tens of seconds
  under a load of ~10, longer than WEB_GRACEFUL_TIMEOUT, and the master killed the worker without its flush.)
Workers are forked (not spawned), so hooks registered before `run_granian` are in every worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import wait as wait_ready
from typing import Any

from granian._signals import set_sync_signals as _GRANIAN_SET_SYNC_SIGNALS
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.mp import MPServer, WorkerProcess

from .config import Settings
from .embedded_redis import die_with_parent
from .signals import (
    StoppedWhileStarting,
    end_of_start_up,
    end_start_up_interruptions,
    start_up_interruptible,
    stop_received,
    stop_signals_held,
)
from .worker_hooks import WorkerInfo, call_hooks

log = logging.getLogger(__name__)

# granian's own WSGI worker body (the function its spawn target wraps), run inside our hooks
_GRANIAN_WSGI_WORKER: Callable[..., None] = MPServer._spawn_wsgi_worker.__wrapped__  # type: ignore[attr-defined]
_GRANIAN_ASGI_WORKER: Callable[..., None] = MPServer._spawn_asgi_worker.__wrapped__  # type: ignore[attr-defined]
GRANIAN_API_BACKPRESSURE = 512  # granian's own default per worker (backlog 1024 // 2 workers): the API's share
_worker_body: list[Callable[..., None]] = [_GRANIAN_WSGI_WORKER]  # the ASGI one under WEB_INTERFACE=asgi

_app_factory: list[Callable[[], Any]] = []  # set in the master before the workers are forked
_master_pid: list[int] = []


def _load_app() -> Any:
    return _app_factory[0]()


def _worker_main(worker_id: int, callback: Any, *args: Any) -> None:
    die_with_parent()
    if os.getppid() != _master_pid[0]:  # the master died before the line above: nothing to serve for
        return
    worker = WorkerInfo(os.getpid())
    try:
        call_hooks("post_fork", None, worker)
        _worker_body[0](worker_id, callback, *args)
    finally:
        end_start_up_interruptions()  # a stop signal from here on does not interrupt the final flush
        call_hooks("worker_exit", None, worker)


_granian_worker: Callable[..., None] = WorkerProcess.wrap_target(_worker_main)


def _spawn_worker(*args: Any) -> None:
    """A worker process's body. Its stop signals are held since the fork (`_WatchedWorker.start`) until the
    start-up handler is in; a signal held meanwhile, or one that comes while the app is built or the post_fork
    hooks run, interrupts the start-up (StoppedWhileStarting), and the worker ends with exit status 0 after its
    worker_exit hooks (which flush what post_fork started)."""
    try:
        start_up_interruptible()  # a signal held since the fork raises here
        _granian_worker(*args)
    except StoppedWhileStarting as stop:
        log.info("worker stopped while starting", extra={"event": "worker_stopped_starting", "pid": os.getpid(),
                                                         "signal": stop.args[0]})


class _WatchedWorker(WorkerProcess):
    def start(self) -> None:
        with stop_signals_held():  # the worker releases them once its start-up handler is in (_spawn_worker)
            super().start()

    def is_alive(self) -> bool:
        # granian's watcher thread reaps the worker too: between its waitpid and its recording of the exit status
        # the process reads as alive here (this thread's waitpid finds no child), and granian's stop SIGKILLed "a
        # worker that refused to gracefully stop" that had flushed and exited. Its closed sentinel says it exited.
        return bool(super().is_alive()) and not wait_ready([self.inner.sentinel], 0)

    def _watcher(self) -> None:
        super()._watcher()  # returns once the worker process is gone, however it ended
        call_hooks("child_exit", None, WorkerInfo(self.inner.pid))


class _Server(MPServer):
    def _spawn_worker(self, *args: Any, **kwargs: Any) -> WorkerProcess:
        worker = super()._spawn_worker(*args, **kwargs)
        worker.__class__ = _WatchedWorker  # same object, plus the child_exit call when it is gone
        return worker


def _worker_signals(asgi: bool) -> None:
    """granian's stop handler in a worker, and the stop signals recorded since granian's start-up began (after
    signals.end_of_start_up) handed to it. Under ASGI that handler first ends the worker's open streams, on its
    event loop, then stops granian as granian's own does (its graceful stop would otherwise wait for streams that
    never end by themselves); it is installed once the loop runs: uvloop reads only the signals that come while
    it runs (its wakeup fd is set then), one that came before would wait for the next signal."""
    import granian._signals as granian_signals
    from granian._granian import WorkerSignal

    from .live.asgi import end_streams

    def set_loop_signals(loop: Any) -> Any:
        end_of_start_up()
        event = WorkerSignal()

        def on_signal(_signum: int, _frame: object) -> None:
            end_streams()
            event.set()

        def install() -> None:  # on the running loop
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, on_signal, signum, None)
            received = stop_received()  # came while granian started
            if received is not None:
                on_signal(received, None)

        loop.call_soon(install)
        return event

    def set_sync_signals() -> Any:
        end_of_start_up()
        event = _GRANIAN_SET_SYNC_SIGNALS()
        if stop_received() is not None:  # granian's serve() stops at once when it starts
            event.set()
        return event

    if asgi:
        granian_signals.set_loop_signals = set_loop_signals
    else:
        granian_signals.set_sync_signals = set_sync_signals


def _log_config() -> dict[str, Any]:
    """granian's own lines (start, workers spawned and stopped) as the service's JSON lines on stderr."""
    return {
        "formatters": {"generic": {"()": "leaderboard.logs.JsonFormatter"}},
        "handlers": {"console": {"formatter": "generic", "class": "logging.StreamHandler",
                                 "stream": "ext://sys.stderr"}},
        "loggers": {"_granian": {"handlers": ["console"], "propagate": False}},
    }


def _address(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # ":8000": every interface, as gunicorn


def run_granian(settings: Settings, app_factory: Callable[[], Any]) -> None:
    multiprocessing.set_start_method("fork", force=True)  # hooks and the app factory are inherited
    asgi = settings.WEB_INTERFACE == "asgi"
    if asgi:
        _worker_body[:] = [_GRANIAN_ASGI_WORKER]
    _worker_signals(asgi)
    _app_factory[:] = [app_factory]
    _master_pid[:] = [os.getpid()]
    host, port = _address(settings.BIND)
    server = _Server(
        "leaderboard:create_app",  # informative only: the app comes from `_load_app`
        address=host,
        port=port,
        interface=Interfaces.ASGI if asgi else Interfaces.WSGI,
        workers=settings.WEB_WORKERS,
        blocking_threads=settings.WEB_BLOCKING_THREADS,
        http=HTTPModes.http1,
        log_level=LogLevels(settings.LOG_LEVEL.lower()),
        log_dictconfig=_log_config(),
        log_access=False,  # the service writes its own access line (ACCESS_LOG)
        respawn_failed_workers=True,
        # granian caps the requests in flight per worker (default backlog // workers = 512); an open stream is one,
        # so under the live router the cap leaves room for LIVE_MAX_SUBSCRIBERS streams beside the API's requests
        backpressure=settings.LIVE_MAX_SUBSCRIBERS + GRANIAN_API_BACKPRESSURE if asgi else None,
        workers_kill_timeout=settings.WEB_GRACEFUL_TIMEOUT,
    )
    server.serve(spawn_target=_spawn_worker, target_loader=_load_app, wrap_loader=False)

"""How every process stops on a signal (rq's worker): the first SIGTERM/SIGINT asks it to finish the work in
hand and stop; a second one exits at once. Installed by each run loop, never at import.

And how a web worker hears a stop signal that comes while it still starts: its master forks it with the stop
signals held (`stop_signals_held`), so until its server installed its own handler the signal waits, pending,
instead of reaching the master's handler that fork copied into it (granian's and gunicorn's record it in the
worker's copy of the master, where nobody looks: the master then waits WEB_GRACEFUL_TIMEOUT and kills the
worker) or the default action (uvicorn's worker resets it before it loads the app: killed, with no final
flush).

A stop signal that comes while a worker starts ends that start-up within moments (`start_up_interruptible`): the
worker's first act installs a handler that raises `StoppedWhileStarting` in its main thread (the app build is
interrupted, however slow: a loaded machine; a post_fork hook, such as the write path's start, is finished first,
`start_up_step`), then releases them; its server's exit path runs the worker_exit hooks (the final flush of what
it started) and it exits with status 0.
Once the server's own start-up begins (`end_of_start_up`), a stop is recorded (`stop_received`) until the
server's handler is in. Held until the worker served, as before, the stop waited for the whole start-up, which
under a load of ~10 outlasted WEB_GRACEFUL_TIMEOUT: the master then killed the worker, with no final flush.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def stop_on_signals(process: str, on_stop: Callable[[], None] | None = None) -> Callable[[], bool]:
    """Install the SIGTERM/SIGINT handlers of `process` (a name for the log lines); returns `stopping()`, true
    once a first signal came. `on_stop()` runs at that first signal, for a loop that does not poll
    `stopping()` (it must not block: the handler runs on the main thread). A second signal exits now with
    status 128 + the signal number."""
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            log.warning("second signal: exiting now", extra={"event": f"{process}_exit_now", "signal": signum})
            os._exit(128 + signum)
        log.info("signal: finishing the work in hand, then stopping",
                 extra={"event": f"{process}_stopping", "signal": signum})
        if on_stop is not None:
            on_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: bool(received)


WORKER_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT})  # SIGQUIT: gunicorn's quick stop


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold (block) the stop signals in the calling thread for the block: a worker forked inside it starts with
    them held until it calls `release_stop_signals`; one that comes to the caller meanwhile is delivered at the
    end of the block."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def release_stop_signals() -> None:
    """In a worker forked under `stop_signals_held`, once its server's stop handler is installed: the stop
    signals reach it from now on, and one that came during the start-up is delivered now."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_STOP_SIGNALS)


class StoppedWhileStarting(BaseException):
    """Raised in a worker's main thread by a stop signal that comes while it starts (`start_up_interruptible`);
    a BaseException so that no `except Exception` of the start-up's code takes it for an error of its own."""


_starting: list[bool] = [False]  # in a worker: a stop signal now interrupts its start-up
_received: list[int] = []  # in a worker: the stop signals it received before its server's handler was in


def _on_stop_while_starting(signum: int, _frame: object) -> None:
    _received.append(signum)
    if _starting[0]:
        _starting[0] = False  # once: the worker_exit hooks that follow are not interrupted
        raise StoppedWhileStarting(signum)


def start_up_interruptible() -> None:
    """A web worker's first act (forked under `stop_signals_held`): from now until `end_of_start_up`, SIGTERM or
    SIGINT raises StoppedWhileStarting in the main thread; one held since the fork raises here."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_stop_while_starting)
    _starting[0] = True
    release_stop_signals()


def keep_start_up_interruptible() -> None:
    """After a server reset the stop handlers during the worker's start-up (uvicorn's worker: to the default
    action): ours again, while the start-up lasts."""
    if _starting[0]:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _on_stop_while_starting)


def end_of_start_up() -> None:
    """The server's own part of the start-up begins (its handler comes next): a stop signal is only recorded from
    now (`stop_received`). One received before stops the worker here, its exception having been swallowed where
    the handler ran (Python ignores exceptions raised in a __del__ or a weakref callback)."""
    _starting[0] = False
    if _received:
        raise StoppedWhileStarting(_received[0])


@contextmanager
def start_up_step() -> Iterator[None]:
    """A step of a worker's start-up that a stop must not cut in the middle (a post_fork hook: the write path half
    started, its WAL open and dead workers' writes claimed but no runtime to flush them): a stop that comes
    during it is recorded, and interrupts the start-up right after it."""
    interruptible = _starting[0]
    _starting[0] = False
    try:
        yield
    finally:
        if interruptible:
            _starting[0] = not _received
    if interruptible and _received:
        raise StoppedWhileStarting(_received[0])


def stop_received() -> int | None:
    """A stop signal this worker received before its server's handler was in, if any."""
    return _received[0] if _received else None


def end_start_up_interruptions() -> None:
    """The worker is stopping (its exit hooks run next): a stop signal no longer interrupts anything."""
    _starting[0] = False

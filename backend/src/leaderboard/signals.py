"""How every process stops on a signal (rq's worker): the first SIGTERM/SIGINT asks it to finish the work in
hand and stop; a second one exits at once. Installed by each run loop, never at import.

And how a web worker hears a stop signal that comes while it still starts: its master forks it with the stop
signals held (`stop_signals_held`), so until its server installed its own handler the signal waits, pending,
instead of reaching the master's handler that fork copied into it (granian's and gunicorn's record it in the
worker's copy of the master, where nobody looks: the master then waits WEB_GRACEFUL_TIMEOUT and kills the
worker) or the default action (uvicorn's worker resets it before it loads the app: killed, with no final
flush). The server's start-up calls `release_stop_signals` once its handler is in: a held signal reaches it then.
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

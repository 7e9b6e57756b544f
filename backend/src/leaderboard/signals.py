"""How every process stops on a signal (rq's worker): the first SIGTERM/SIGINT asks it to finish the work in
hand and stop; a second one exits at once. Installed by each run loop, never at import."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

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

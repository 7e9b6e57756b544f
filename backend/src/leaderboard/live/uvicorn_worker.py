"""gunicorn's worker for the ASGI app (WEB_SERVER=gunicorn): uvicorn's worker class, plus ending every open
stream as soon as the worker is told to stop, so uvicorn's graceful shutdown does not wait on streams that
never end by themselves; and dying (SIGTERM, so it flushes) with its master. A stop while it starts interrupts
its start-up (gunicorn_app.py, signals.start_up_interruptible), the app's load too: uvicorn's worker resets the
stop signals to their default action before it loads the app (a kill, before the final flush), so the start-up
handler is put back; once uvicorn's own handler is in, a stop recorded meanwhile stops it there."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import warnings
from types import FrameType
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server

with warnings.catch_warnings():  # uvicorn.workers warns that it moved to a package of its own; same class
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

from ..embedded_redis import die_with_parent
from ..signals import end_of_start_up, keep_start_up_interruptible
from .asgi import end_streams


class _Server(Server):
    async def _serve(self, sockets: list[Any] | None = None) -> None:
        end_of_start_up()  # inside capture_signals: uvicorn's handler is in; one that came before stops it here
        await super()._serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # no loop running: nothing is streaming
            asyncio.get_running_loop().call_soon_threadsafe(end_streams)
        super().handle_exit(sig, frame)
        # uvicorn re-raises the captured signal once it stopped serving, which would kill the worker before
        # gunicorn's worker_exit hook (the write path's final flush) runs: the worker returns normally instead
        self._captured_signals.clear()


class LiveUvicornWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: dict[str, Any] = {"loop": "auto", "http": "auto", "lifespan": "off"}
    ENDS_START_UP = True  # in _Server._serve, not in gunicorn's post_worker_init (uvicorn's handler is not in yet)

    def init_signals(self) -> None:
        super().init_signals()
        keep_start_up_interruptible()  # uvicorn's worker reset SIGTERM/SIGINT to their default action

    def init_process(self) -> None:
        die_with_parent()  # gunicorn's own workers poll for their parent; uvicorn's do not: SIGTERM when it dies
        super().init_process()

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = _Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

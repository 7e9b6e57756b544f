"""The service as one ASGI app per worker: a small path router in front of the Flask API.

- `GET /v1/leaderboards/{board}/stream` and `GET /v1/competitions/{id}/stream` (competitions/live.py) are served
  natively on the event loop (live/stream.py): an open stream never holds a worker thread;
- the cached first page of a top list is answered natively too, by the Flask app's own fast path
  (api/fast_path.py `FirstPageFastPath.answer_asgi`: the same rules and bytes as its WSGI side)
  when this process holds it in memory;
- `POST /v1/trades` is answered natively too when it is the common case (api/native_trades.py: a known token,
  a valid body, ids claimed and the WAL written by a group commit off the loop); anything else reaches the view
  with the body replayed; a member's rank / around-me view is answered from this process's micro-cache when it
  holds it (api/native_reads.py);
- every other request goes to the Flask app through a2wsgi's WSGI adapter (its own thread pool of
  WEB_BLOCKING_THREADS threads), exactly as a WSGI server would call it.

Served by granian (`--interface asgi`, the default WEB_SERVER) or by gunicorn with uvicorn's worker class
(WEB_SERVER=gunicorn); the cost of the adapter on the API's throughput is measured in BENCHMARKS.md.
"""

from __future__ import annotations

import re
from typing import Any

from a2wsgi import WSGIMiddleware

from ..api.fast_path import PREFIX as FIRST_PAGE_PREFIX
from ..api.fast_path import FirstPageFastPath
from ..api.native_reads import NativeMemberReads
from ..api.native_trades import PATHS as WRITE_PATHS
from ..api.native_trades import NativeTrades
from ..competitions.live import CompetitionStreams
from ..config import Settings
from ..redis_client import connect
from .stream import Receive, Scope, Send, StreamEndpoint

STREAM_PATH = re.compile(r"/v1/leaderboards/([^/]{1,128})/stream/?")
COMPETITION_STREAM_PATH = re.compile(r"/v1/competitions/([^/]{1,128})/stream/?")

_STREAMS: list[StreamEndpoint] = []  # this process's endpoint (so a signal handler can end its streams)


class Router:
    def __init__(self, flask_app: Any, settings: Settings) -> None:
        self.settings = settings
        self.flask: Any = WSGIMiddleware(flask_app, workers=settings.WEB_BLOCKING_THREADS)
        wsgi_app = getattr(flask_app, "wsgi_app", None)
        self.first_page = wsgi_app if isinstance(wsgi_app, FirstPageFastPath) else None
        self.trades = NativeTrades(flask_app, settings) if self.first_page is not None else None  # a service app
        self.members = NativeMemberReads(flask_app, settings) if self.first_page is not None else None
        self.streams = StreamEndpoint(settings, connect(settings))
        self.competition_streams = CompetitionStreams(self.streams, settings)  # same hub and limits
        _STREAMS.append(self.streams)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            match = STREAM_PATH.fullmatch(scope["path"])
            if match is not None:
                await self.streams(scope, receive, send, match[1])
                return
            match = COMPETITION_STREAM_PATH.fullmatch(scope["path"])
            if match is not None:
                await self.competition_streams(scope, receive, send, match[1])
                return
            if self.first_page is not None and scope["method"] == "GET" and scope["path"].startswith(
                    FIRST_PAGE_PREFIX) and await self._first_page(scope, send):
                return
            if self.members is not None and scope["method"] == "GET" and await self.members(scope, send):
                return  # member views and the compat reads, api/native_reads.py
            if self.trades is not None and scope["method"] == "POST" and scope["path"] in WRITE_PATHS:
                handed = await self.trades(scope, receive, send)  # api/native_trades.py; None: answered
                if handed is None:
                    return
                receive = handed
        async def receive_coroutine() -> dict[str, Any]:  # a2wsgi needs a coroutine; granian's is a future
            return await receive()

        await self.flask(scope, receive_coroutine, send)

    async def _first_page(self, scope: Scope, send: Send) -> bool:
        """Answer from this process's memory (no Redis, no thread) if the fast path can; False otherwise."""
        assert self.first_page is not None
        answered = self.first_page.answer_asgi(scope)
        if answered is None:
            return False
        headers, body = answered
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.streams.hub.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def end_streams() -> None:
    """End every open stream of this process (called from the server's SIGTERM path, on its event loop)."""
    for endpoint in _STREAMS:
        endpoint.hub.shutdown()


def build(flask_app: Any, settings: Settings) -> Router:
    return Router(flask_app, settings)

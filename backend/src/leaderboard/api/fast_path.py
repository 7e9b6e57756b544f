"""The hottest read answered before Flask: the first page of a top list (the dashboard's poll,
`GET /v1/leaderboards/<board>?period=&limit=` without a cursor).

The Flask view renders that page once per snapshot and keeps the JSON bytes in this process's read cache
(`Reads.first_page_json`). When a request for it arrives and this process already holds, in memory, a fresh
snapshot of that board period and the page rendered from it for today, this WSGI middleware answers with those
bytes and the headers every response gets (request id, security headers), records the request metric and the
access log line, and never enters Flask or Redis. Anything else (another route or method, a cursor, an unknown
parameter or board, a CORS request when origins are configured, no fresh copy or rendering) goes to Flask
unchanged, so every rule and error of the API stays in one place. Measured: BENCHMARKS.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from .. import access
from ..access import REQUEST_ID_HEADER, request_id_for
from ..ranking.periods import Period, next_midnight
from ..read_cache import ReadCache
from ..security import SECURITY_HEADERS
from .native import bounded_size, extra_headers, json_headers, query_values
from .params import READ_CACHE_KEY, REGISTRY_KEY

PREFIX = "/v1/leaderboards/"
ROUTE = "/v1/leaderboards/<board_id>"  # the Flask route's rule: one metrics label for both paths
QUERY_CACHE_MAX_ENTRIES = 1000  # distinct query strings whose parse this process remembers

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FirstPageFastPath:
    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        settings = app.config["SETTINGS"]
        self.default_limit = settings.DEFAULT_LIMIT
        self.max_limit = settings.MAX_LIMIT
        self.cors = bool(settings.CORS_ORIGINS)
        self.access_log = settings.ACCESS_LOG
        self.extra_headers = [*SECURITY_HEADERS.items(), *app.config.get("SWAGGER", {}).get("headers", [])]
        self.extra_headers_asgi = extra_headers(app)
        self.queries: dict[str, tuple[Period, int] | None] = {}
        self.served = 0  # requests answered here (tests, curiosity)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answered = self.answer(environ)
        if answered is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answered
        start_response("200 OK", headers)
        return [body]

    def answer(self, environ: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes] | None:
        """The 200's headers and body when this process can answer `environ` from memory (request metric and
        access line recorded), else None."""
        answered = self.answer_parts(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""),
                                     environ.get("QUERY_STRING", ""), environ.get("HTTP_X_REQUEST_ID", ""),
                                     "HTTP_ORIGIN" in environ)
        if answered is None:
            return None
        request_id, body = answered
        return [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                (REQUEST_ID_HEADER, request_id), *self.extra_headers], body

    def answer_asgi(self, scope: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """`answer` for an ASGI scope (the router, live/asgi.py, calls it before a2wsgi): the same rules, the
        same bytes, without building a WSGI environ."""
        method, path = scope["method"], scope["path"]
        if method != "GET" or not path.startswith(PREFIX):
            return None  # the common miss, before looking at headers
        given, origin = "", False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin1")
            elif name == b"origin":
                origin = True
        answered = self.answer_parts(method, path, scope["query_string"].decode("latin1"), given, origin)
        if answered is None:
            return None
        request_id, body = answered
        return json_headers(body, request_id, self.extra_headers_asgi), body

    def answer_parts(self, method: str, path: str, query: str, given_request_id: str,
                     has_origin: bool) -> tuple[str, bytes] | None:
        """(request id, body) of the 200 when this process can answer from memory (metric and access line
        recorded), else None: the rules both interfaces share."""
        started = time.perf_counter()
        body = self._cached_body(method, path, query, has_origin)
        if body is None:
            return None
        request_id = request_id_for(given_request_id)
        access.record("GET", ROUTE, path, 200, time.perf_counter() - started, request_id, self.access_log)
        self.served += 1
        return request_id, body

    def _cached_body(self, method: str, path: str, raw_query: str, has_origin: bool) -> bytes | None:
        if method != "GET" or not path.startswith(PREFIX):
            return None
        board_id = path[len(PREFIX):]
        if not board_id or "/" in board_id or (self.cors and has_origin):
            return None
        query = self._query(raw_query)
        cache: ReadCache | None = self.app.extensions.get(READ_CACHE_KEY)
        registry = self.app.extensions.get(REGISTRY_KEY)
        if query is None or cache is None or registry is None:
            return None
        try:
            board = registry.get(board_id)
        except RedisError:
            return None
        if board is None:
            return None
        period, limit = query
        snapshot = cache.local_snapshot(board, period)
        if snapshot is None:
            return None
        return cache.rendered_page((board.id, board.decimals, period, limit), snapshot, next_midnight(cache.clock()))

    def _query(self, raw: str) -> tuple[Period, int] | None:
        """(period, limit) of a query string with only those two, valid; None sends the request to Flask."""
        if raw in self.queries:
            return self.queries[raw]
        parsed: tuple[Period, int] | None = None
        values = query_values(raw, {"period", "limit"})
        if values is not None and values.get("period", "day") in Period._value2member_map_:
            limit = bounded_size(values.get("limit", str(self.default_limit)), self.default_limit, self.max_limit)
            if limit is not None:
                parsed = (Period(values.get("period", "day")), limit)
        if len(self.queries) >= QUERY_CACHE_MAX_ENTRIES:
            self.queries.clear()
        self.queries[raw] = parsed
        return parsed


def init_app(app: Flask) -> None:
    app.wsgi_app = FirstPageFastPath(app, app.wsgi_app)  # type: ignore[method-assign]

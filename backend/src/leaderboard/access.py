"""Per-request bookkeeping: a request id, the latency, one access log line and the HTTP metrics.

The request id comes from the client's `X-Request-ID` when it is a short safe token, else a new one; it is
sent back in `X-Request-ID`. The access line carries only method, route, path (no query string), status,
latency and request id: never headers, tokens, passwords or bodies.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from flask import Flask, Response, g, request

from . import metrics
from .context import current_settings

log = logging.getLogger("leaderboard.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_numbers = itertools.count()
_id_prefix: tuple[int, str] = (0, "")  # (pid, random prefix): a forked worker makes its own


def new_request_id() -> str:
    """A random per-process prefix and a counter: unique, and cheaper than a uuid4 per request."""
    global _id_prefix
    pid = os.getpid()
    if _id_prefix[0] != pid:
        _id_prefix = (pid, secrets.token_hex(8))
    return f"{_id_prefix[1]}{next(_request_numbers):016x}"


def safe_request_id(given: str) -> bool:
    """A client's X-Request-ID is echoed only when it is a short token of safe characters."""
    return bool(given) and _SAFE_REQUEST_ID.fullmatch(given) is not None


def request_id_for(given: str) -> str:
    """The id a request is answered and logged with: the client's X-Request-ID when safe, else a new one."""
    return given if safe_request_id(given) else new_request_id()


def request_id() -> str:
    """This request's id (also usable from views and domain code that log)."""
    return str(g.get("request_id", ""))


def _begin() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = request_id_for(given)


def _finish(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is None:  # a request that never reached the hooks (should not happen); record nothing
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else metrics.UNMATCHED_ROUTE
    response.headers[REQUEST_ID_HEADER] = request_id()
    record(request.method, route, request.path, response.status_code, seconds, request_id(),
           current_settings().ACCESS_LOG)
    return response


def record(method: str, route: str, path: str, status: int, seconds: float, rid: str, access_log: bool) -> None:
    """The request metric and (when ACCESS_LOG is on and INFO enabled) the access line of one request: Flask's
    after_request hook and the answers made before Flask (api/fast_path.py, api/native_trades.py) call it."""
    metrics.record_request(route, method, status, seconds)
    if access_log and log.isEnabledFor(logging.INFO):
        log.info("%s %s %s", method, path, status, extra={
            "event": "http_request", "request_id": rid, "method": method, "route": route, "path": path[:256],
            "status": status, "latency_ms": round(seconds * 1000, 3)})


def init_app(app: Flask) -> None:
    # first before_request hook: timing starts before the rate limiter (or anything else) can answer early
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)

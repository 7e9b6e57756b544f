"""The standalone server of the processes without a Flask app (scheduler, stream consumers): /metrics, and
/ready, which runs the process's ReadyChecks (readiness.py) as the API's /ready runs the app's."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import exposition, scrape_authorized
from .readiness import ReadyChecks


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_process_metrics(
    bind: str, token: str, ready: ReadyChecks | None = None,
) -> Callable[[], None]:
    """Serve this process's metrics at http://BIND/metrics from a daemon thread, for the processes without a
    Flask app (scheduler, stream consumers); METRICS_TOKEN applies as on the API. With `ready`, also
    GET /ready: its report, 200 when every check is ok else 503 (open, like the API's /ready). Returns `stop()`."""
    host, _, port = bind.rpartition(":")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if ready is not None and environ.get("PATH_INFO") == "/ready":
            report = ready.run()
            body = orjson.dumps(report)
            start_response("200 OK" if report["status"] == "ok" else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") != "/metrics":
            status, code, message = "404 Not Found", "not_found", "Only /metrics (and /ready) are served here."
        elif not scrape_authorized(environ.get("HTTP_AUTHORIZATION", ""), token):
            status, code, message = "401 Unauthorized", "unauthorized", "Metrics need the metrics bearer token."
        else:
            body = exposition()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
            return [body]
        error = orjson.dumps({"error": {"code": code, "message": message, "details": {}}})
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(error)))])
        return [error]

    server = make_server(host or "0.0.0.0", int(port), app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


@contextlib.contextmanager
def process_metrics(bind: str, token: str, ready: ReadyChecks | None = None) -> Iterator[None]:
    """serve_process_metrics for the block's duration when `bind` (METRICS_BIND) is set; nothing otherwise."""
    stop = serve_process_metrics(bind, token, ready) if bind else None
    try:
        yield
    finally:
        if stop is not None:
            stop()

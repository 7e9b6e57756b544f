"""The HTTP ceilings, served by the very same server code and Settings as the API (`web_server.run`: the
server `WEB_SERVER` names, same workers and threads):

    python -m bench.hello_app         # a hello-world Flask app: GET / and POST /echo (an orjson body)
    python -m bench.hello_app bare    # a bare WSGI callable: no framework, the server's own ceiling

with BIND / JWT_SECRET_KEY set."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask, Response, request

from leaderboard import web_server
from leaderboard.config import load_settings

HELLO = b'{"hello":"world"}'


def create_hello_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> Response:
        return Response(HELLO, mimetype="application/json")

    @app.post("/echo")
    def echo() -> Response:
        body = orjson.loads(request.get_data())
        return Response(orjson.dumps({"accepted": 1 if isinstance(body, dict) else 0}), 202,
                        mimetype="application/json")

    return app


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """What any WSGI app costs at least on this server: one fixed answer, the body read when there is one."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        environ["wsgi.input"].read(int(length))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def create_bare_app() -> Callable[..., Iterable[bytes]]:
    return bare_app


if __name__ == "__main__":
    bare = sys.argv[1:] == ["bare"]
    web_server.run(load_settings(), create_bare_app if bare else create_hello_app)

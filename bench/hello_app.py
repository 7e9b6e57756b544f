"""The HTTP ceilings, served by the very same server code and Settings as the API (`web_server.run`: the
server `WEB_SERVER` names, same workers and threads):

    python -m bench.hello_app         # a hello-world Flask app: GET / and POST /echo (an orjson body)
    python -m bench.hello_app bare    # a bare app: no framework, the server's own ceiling (a WSGI callable, or
                                      # under WEB_INTERFACE=asgi an ASGI one, served without the live router)

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


async def bare_asgi_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """The same fixed answer as `bare_app`, as an ASGI callable: the ceiling of an ASGI server."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = scope["method"] in ("POST", "PUT")
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(HELLO)).encode())]})
    await send({"type": "http.response.body", "body": HELLO})


def create_bare_app() -> Callable[..., Any]:
    return bare_asgi_app if load_settings().WEB_INTERFACE == "asgi" else bare_app


if __name__ == "__main__":
    bare = sys.argv[1:] == ["bare"]
    web_server.run(load_settings(), create_bare_app if bare else create_hello_app, native=bare)

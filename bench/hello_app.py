"""The HTTP ceiling: a hello-world Flask app served by the very same GunicornApp and Settings as the API
(same workers, worker class, threads). `python -m bench.hello_app` with BIND / JWT_SECRET_KEY set."""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

from leaderboard.config import load_settings
from leaderboard.gunicorn_app import GunicornApp


def create_hello_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> Response:
        return Response(b'{"hello":"world"}', mimetype="application/json")

    @app.post("/echo")
    def echo() -> Response:
        body = orjson.loads(request.get_data())
        return Response(orjson.dumps({"accepted": 1 if isinstance(body, dict) else 0}), 202,
                        mimetype="application/json")

    return app


if __name__ == "__main__":
    GunicornApp(load_settings(), create_hello_app).run()

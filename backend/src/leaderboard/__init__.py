"""Leaderboard: a real-time leaderboard service for trading venues and games.

`create_app(config=None)` builds the Flask app. Importing this package starts nothing: no threads,
no connections, no processes, and loads no web framework (ranking/, ingest/ and jobs/ are used without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["__version__", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` overrides environment settings (tests pass their own)."""
    from flask import Flask  # here, not at the top: the domain packages import this package without a web stack

    from . import access, errors, extensions, redis_conn, security
    from .api import auth, board_moderation, compat, fast_path, health, leaderboards, openapi, ui, write_path
    from .api import competitions as competitions_api
    from .api import scores as scores_api
    from .api import trades as trades_api
    from .config import load_settings

    settings = load_settings(config)
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH,
        JSON_SORT_KEYS=False,
        JWT_SECRET_KEY=settings.JWT_SECRET_KEY,
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.ACCESS_TOKEN_MINUTES),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.REFRESH_TOKEN_DAYS),
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ALGORITHM="HS256",
        RATELIMIT_ENABLED=settings.RATELIMIT_ENABLED,
        RATELIMIT_STORAGE_URI=extensions.ratelimit_storage_uri(settings),
        RATELIMIT_STORAGE_OPTIONS=extensions.ratelimit_storage_options(settings),
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_KEY_PREFIX="lb:ratelimit",
    )
    redis_conn.init_app(app)
    access.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    extensions.init_app(app)
    openapi.init_app(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(leaderboards.bp)
    app.register_blueprint(compat.bp)
    app.register_blueprint(trades_api.bp)
    app.register_blueprint(scores_api.bp)
    competitions_api.init_app(app)
    app.register_blueprint(board_moderation.bp)
    app.register_blueprint(ui.bp)  # last: its catch-all must not shadow API routes
    fast_path.init_app(app)  # the cached first page of a top list, answered before Flask when it can be

    checks = health.ready_checks(app)  # /ready, in this order
    checks.add("redis", health.redis_check)
    checks.add("scheduler", health.scheduler_check)  # informs, never fails /ready
    checks.add("ingest", write_path.ready_check)
    return app

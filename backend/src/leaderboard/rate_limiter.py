"""The flask-limiter extension, created unbound (bound by extensions.init_app): a module of its own so that what
words a 429 (wording.py) reaches it without importing the error handlers."""

from __future__ import annotations

from flask_limiter.util import get_remote_address

from .library_internals import RouteLimiter

limiter = RouteLimiter(key_func=get_remote_address, default_limits=[])

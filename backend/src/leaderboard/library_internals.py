"""The private internals of libraries the service relies on, in one place, each with the version it was written
against; tests/test_library_internals.py fails when an installed version differs or the internals moved.

- flask-limiter 4.1.1: `RouteLimiter` overrides `Limiter._check_request_limit` and reads `limit_manager`'s
  private limit lists. No public API skips the before_request check (a `request_filter` would also skip the
  views' own decorated limits). `RouteLimiter.init_app` swaps the after_request hook it registers (a `partial` of
  the name-mangled `Limiter.__inject_headers`) for one that keeps an answer's own Retry-After: flask-limiter sets
  Retry-After on every answer of a limited view to the later of the answer's own and its window's reset, so a
  503 `login_busy` (retry in 2 s) said up to 60 s, and a 200 login carried one too. No option turns off only
  that header (RATELIMIT_HEADERS_ENABLED also drops the 429's). It also clears `_storage_dead` (the in-memory
  fallback's state), which `init_app` keeps from a previous app although it makes a new storage.
- Flask-JWT-Extended 4.7.4: `set_verified_jwt` stores a token verified earlier (auth.guards.VerifiedTokens) where
  `verify_jwt_in_request()` stores one (`flask.g._jwt_extended_jwt*`), so `get_jwt()` and the rest see it. No
  public API takes already-verified claims.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import Limiter

WRITTEN_AGAINST = {"Flask-Limiter": "4.1.1", "Flask-JWT-Extended": "4.7.4"}
_LIMITER_INJECT_HEADERS = Limiter._Limiter__inject_headers  # type: ignore[attr-defined]


class RouteLimiter(Limiter):
    """flask-limiter whose before_request check is skipped when no limit could apply to the request: the
    service has no default, application or blueprint limits, only limits on a few views (login, register),
    and those are checked by their own decorators. Most requests would otherwise pay ~20 µs for nothing."""

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and not self.middleware_may_limit():
            return
        super()._check_request_limit(callable_name, in_middleware)

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        self._storage_dead = False  # the app's own storage (flask-limiter keeps a previous app's fallback state)
        hooks = app.after_request_funcs.setdefault(None, [])
        for index, hook in enumerate(hooks):
            if isinstance(hook, partial) and hook.func is _LIMITER_INJECT_HEADERS and hook.args == (self,):
                hooks[index] = partial(RouteLimiter._inject_headers_keeping_retry_after, self)

    def _inject_headers_keeping_retry_after(self, response: Response) -> Response:
        """flask-limiter's header hook, after which Retry-After is the limiter's only on its own refusal (429):
        any other answer keeps the Retry-After it was made with, or has none."""
        own = response.headers.get("Retry-After")
        response = _LIMITER_INJECT_HEADERS(self, response)
        if response.status_code != 429:
            if own is None:
                response.headers.pop("Retry-After", None)
            else:
                response.headers["Retry-After"] = own
        return response

    def middleware_may_limit(self) -> bool:
        manager = self.limit_manager
        return bool(
            manager._application_limits or manager._default_limits or manager._blueprint_limits
            or (request.endpoint and manager.has_hints(request.endpoint))
            # its storage down: the in-memory fallback's own limits (RATELIMIT_IN_MEMORY_FALLBACK; none here) would
            # apply to every request; without them a read would only pay for flask-limiter's storage re-check
            or (self._storage_dead and bool(self._in_memory_fallback))
        )


def set_verified_jwt(claims: dict[str, Any], header: dict[str, Any]) -> None:
    """What `verify_jwt_in_request()` leaves for a valid access token from the Authorization header."""
    g._jwt_extended_jwt_user = None  # what flask-jwt-extended stores without a user_lookup_loader
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = "headers"


def verified_header_jwt() -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(claims, header) of the token `verify_jwt_in_request()` just verified, when it came from the headers."""
    if g.get("_jwt_extended_jwt_location") != "headers":
        return None
    return g._jwt_extended_jwt, g._jwt_extended_jwt_header

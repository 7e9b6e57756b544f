"""library_internals.py leans on private parts of flask-limiter and Flask-JWT-Extended: these tests fail when
an installed version is not the one it was written against, or when those parts moved."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from flask_jwt_extended import get_jwt, get_jwt_header, verify_jwt_in_request
from flask_limiter import Limiter

from leaderboard.library_internals import WRITTEN_AGAINST, set_verified_jwt, verified_header_jwt
from leaderboard.rate_limiter import limiter


def test_installed_versions_are_the_ones_the_adapter_was_written_against():
    installed = {name: version(name) for name in WRITTEN_AGAINST}
    assert installed == WRITTEN_AGAINST, "re-read library_internals.py against the new versions, then update it"


def test_flask_limiter_internals_are_where_the_route_limiter_expects_them(app):
    assert list(inspect.signature(Limiter._check_request_limit).parameters) == ["self", "callable_name",
                                                                               "in_middleware"]
    with app.test_request_context("/v1/leaderboards"):
        manager = limiter.limit_manager
        assert manager._application_limits == [] and manager._default_limits == []
        assert isinstance(manager._blueprint_limits, dict) and limiter._storage_dead is False
        assert limiter.middleware_may_limit() is False  # no limit on a read: the check is skipped
        assert manager.has_hints("leaderboards.list_boards") is False
        assert limiter._in_memory_fallback == []  # no fallback limits of its own (the views' limits are kept)
        limiter._storage_dead = True  # Redis stalled: limited views count in memory; a read still skips the check
        try:
            assert limiter.middleware_may_limit() is False
        finally:
            limiter._storage_dead = False


def test_the_route_limiter_replaced_flask_limiters_header_hook(app):
    from functools import partial

    from leaderboard.library_internals import RouteLimiter

    hooks = [hook for hook in app.after_request_funcs[None] if isinstance(hook, partial) and hook.args == (limiter,)]
    assert [hook.func for hook in hooks] == [RouteLimiter._inject_headers_keeping_retry_after]
    assert hasattr(Limiter, "_Limiter__inject_headers")


def test_a_verified_token_set_by_hand_is_what_flask_jwt_extended_reads(app, auth):
    username = auth.register()
    with app.test_request_context("/v1/me", headers=auth.headers(username)):
        verify_jwt_in_request()
        claims, header = verified_header_jwt() or ({}, {})
        assert claims["sub"] == username and header["alg"] == "HS256"
    with app.test_request_context("/v1/me"):
        assert verified_header_jwt() is None
        set_verified_jwt(claims, header)
        assert get_jwt() == claims and get_jwt_header() == header
        assert verified_header_jwt() == (claims, header)

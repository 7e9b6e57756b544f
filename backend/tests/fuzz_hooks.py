"""Schemathesis hooks (loaded by `st run` through SCHEMATHESIS_HOOKS=tests.fuzz_hooks): an auth provider
that gives every generated request a freshly minted token of an existing admin account (a refresh token
for the refresh endpoint), so a logout or a rotation in one case cannot starve the next ones. Being an
auth provider (not a header hook), schemathesis still sends its own missing/invalid-auth cases.

Tokens are minted with the service's own code and secret (env FUZZ_REDIS_URL / FUZZ_JWT_SECRET)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlencode

import schemathesis

from leaderboard import create_app
from leaderboard.api.tokens import issue_tokens
from leaderboard.auth.users import User
from leaderboard.redis_conn import get_redis

FUZZ_USER = User("fuzz-admin", "Fuzz Admin", "admin")


def _fuzz_app() -> Any:
    return create_app({
        "REDIS_URL": os.environ["FUZZ_REDIS_URL"], "JWT_SECRET_KEY": os.environ["FUZZ_JWT_SECRET"],
        "DEV_MODE": False, "DATA_DIR": os.environ["FUZZ_DATA_DIR"],
    })


@schemathesis.auth(refresh_interval=None)  # None: get() on every request, nothing cached
class FreshTokenAuth:
    def __init__(self) -> None:
        # made when `st` loads the hooks (its env has FUZZ_*), not inside a case's generation: building the app
        # compiles its URL rules (ast), which under hypothesis's recursion bookkeeping once failed with a
        # CPython SystemError. (test_fuzz imports this module only for FUZZ_USER: no app there.)
        self.app: Any = _fuzz_app() if "FUZZ_REDIS_URL" in os.environ else None

    def get(self, case: Any, _ctx: Any) -> str:
        if self.app is None:
            self.app = _fuzz_app()
        kind = "refresh_token" if case.path.endswith("/token/refresh") else "access_token"
        with self.app.app_context():
            # the account's current token generation: a fuzzed `logout?all=1` must not starve later cases
            return str(issue_tokens(FUZZ_USER, redis=get_redis())[kind])

    def set(self, case: Any, token: str, _ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


# gunicorn answers a request line over its limit_request_line (4094 bytes) with its own 414 before the app
# sees it (tests/test_serve.py checks that); such cases test gunicorn, not this API, so they are not sent
REQUEST_LINE_BUDGET = 3000


@schemathesis.hook
def filter_case(_ctx: Any, case: Any) -> bool:
    path = case.path
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return len(path) + len(urlencode(case.query or {}, doseq=True)) < REQUEST_LINE_BUDGET

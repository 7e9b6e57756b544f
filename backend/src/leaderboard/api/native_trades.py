"""`POST /v1/trades` answered on the ASGI router's event loop (live/asgi.py), before a2wsgi and Flask, when the
request is the common one; everything else goes to the Flask view unchanged, with the body already read
replayed, so every rule and every error of the API stays in one place (api/trades.py and the app's hooks).

Answered here only when all of this holds (else: Flask):
- exactly `POST /v1/trades`, no query string, `Content-Type: application/json`, a Content-Length of at most
  NATIVE_TRADES_BODY_MAX_BYTES (a single trade or a small batch: a big batch's validation would hold the loop,
  so it is the view's, in its thread; a chunked body goes to the view's own reader too), no `Origin` when CORS
  origins are set;
- a bearer token this worker already verified and knows not revoked, from memory (auth.guards
  `verified_access_claims` and the revocation list's cached answer: the view's first branch), of a caller the
  write limit does not count (extensions.write_limit_applies: service accounts by default) — counted callers go
  to the view's limiter. The cached "not revoked" answer lasts REVOCATION_CACHE_SECONDS: this path asks the
  revocation list again off the loop (`RevocationList.recheck`, one check per token at a time in its own
  thread) once half of it has passed, and waits for that check when it has run out, instead of leaving every
  request of the token to the view until the view has asked (a burst of ~40 requests per worker every 2 s through
  a2wsgi's one thread under wrk -c64: the single POST's p99, bench/PROFILE.md). A token this worker has not
  verified yet is checked the same way, once, by the view's own check (`verify_access_token`, one token at a time:
  requests of another new token meanwhile go to the view), so a new token's first requests do not all go to the
  view either; a token that check refuses goes to the view, which refuses it with its error;
- a body the view's parser (ingest.validation.decode_trades, msgspec) accepts on its fast path, every trade the
  caller's own or the caller allowed to post for others (auth.guards.may_post_for);
- the trade ids claimed and the writes durably accepted by this process's group commit (ingest/group_commit.py:
  the same claim script and write path as the view's, off the loop, batched with the other requests waiting).

Then the answer is the view's, byte for byte: 202 `{"accepted": N}` with the headers Flask sends (content type
and length, the security headers, the request id), the request metric and the access line (access.record).
tests/test_native_trades.py posts the same requests both ways and compares status, headers and body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from flask import Flask

from .. import defaults
from ..auth.guards import may_post_for, verified_access_claims, verify_access_token
from ..auth.revocations import RevocationList
from ..config import Settings
from ..context import clock_of
from ..extensions import write_limit_applies
from ..ingest.claims import WriteClaims
from ..ingest.group_commit import GroupCommit
from ..ingest.runtime import IngestRuntime
from ..ingest.validation import decode_trades_fast
from ..ingest.writes import trade_write
from ..ranking.boards import BOARD_ID_PATTERN, Board
from . import write_path
from .compat import SCORE_FIELDS, SCORE_ROLES, game_score_write
from .native import Message, NativeAnswers, Receive, Send
from .params import REGISTRY_KEY

log = logging.getLogger(__name__)

PATH = "/v1/trades"
ROUTE = "/v1/trades"  # the Flask route's rule: one metrics label for both paths
SCORE_PATH = "/api/leaderboard/score"  # compat.py's go-leader-board score (a service or admin token)
PATHS = frozenset({PATH, SCORE_PATH})
_VERIFYING = ""  # _checks' key of the verification of a token this worker does not know yet (one at a time)


class _Check(NamedTuple):
    arg: Any  # what it checks (a token's claims, or a token)
    future: asyncio.Future[Any]


_WANTED = frozenset({b"authorization", b"content-type", b"content-length", b"x-request-id", b"transfer-encoding"})


class NativeTrades(NativeAnswers):
    def __init__(self, app: Flask, settings: Settings) -> None:
        super().__init__(app, settings)
        self.commits = GroupCommit(self._claims_and_runtime)
        self._checks: dict[str, _Check] = {}  # token id (or _VERIFYING) -> its check under way
        self._check_thread: ThreadPoolExecutor | None = None

    def _claims_and_runtime(self) -> tuple[WriteClaims, IngestRuntime]:
        with self.app.app_context():  # the very objects the view uses (one claim back-off, one WAL per process)
            return write_path.current_claims(), write_path.current_ingest()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> Receive | None:
        """None when the request was answered here; else the `receive` to hand Flask (the body replayed)."""
        started = time.perf_counter()
        headers = self._headers(scope)
        if headers is None:
            return receive
        length = int(headers[b"content-length"])
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away: nobody to answer
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body", False))
            if size > length:
                break
        body = b"".join(chunks)
        replay = _replaying(body, more, receive)
        if size != length:
            return replay
        claims = await self._trusted_claims(headers[b"authorization"][len(b"Bearer "):].decode("latin1"))
        if claims is None or write_limit_applies(claims, self.settings):
            return replay
        if scope["path"] == SCORE_PATH:
            writes, claim, status, route = self._score_writes(body, claims), False, 200, SCORE_PATH
        else:
            writes, claim, status, route = self._writes(body, claims), True, 202, ROUTE
        if writes is None or not await self.commits.accept(writes, claim):
            return replay
        await self.answer(send, status, {"accepted": len(writes)}, headers.get(b"x-request-id", b""), "POST", route,
                          route, started)
        return None

    async def _trusted_claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims when the view's first branch would trust it (see the module docstring); None: the
        view decides (an unknown token, a revoked one, Redis not answering the revocation check)."""
        found = verified_access_claims(self.app, token)
        if found is None:  # not verified in this worker yet: the view's check, off the loop, once at a time
            verifying = self._off_loop(_VERIFYING, self._verify, token)
            if verifying is None or verifying.arg != token:  # another token's check is under way: the view
                return None
            with contextlib.suppress(Exception):  # an invalid token: the view says why
                await asyncio.shield(verifying.future)
            found = verified_access_claims(self.app, token)
            if found is None:
                return None
        claims, revocations = found
        left = revocations.trusted_for(claims)
        if left < revocations.cache_seconds / 2:
            check = self._revocation_check(revocations, claims)
            if left <= 0:
                with contextlib.suppress(Exception):  # whatever went wrong: the view asks again and says
                    await asyncio.shield(check)
        return claims if revocations.known_not_revoked(claims) else None

    def _revocation_check(self, revocations: RevocationList, claims: dict[str, Any]) -> asyncio.Future[Any]:
        """`revocations.recheck(claims)` off the loop (a bounded Redis call), one at a time per token id; it renews
        the cached answer when Redis says "not revoked"."""
        check = self._off_loop(str(claims["jti"]), revocations.recheck, claims)
        assert check is not None
        return check.future

    def _verify(self, token: str) -> None:
        """The view's token check (auth.guards.verify_access_token: signature, expiry, revocation) in a request
        context of its own; a valid access token is then in this worker's VerifiedTokens, as after the view's first
        request with it. Raises what the check raises for any other token."""
        with self.app.test_request_context(PATH, method="POST", headers={"Authorization": f"Bearer {token}"}):
            verify_access_token()

    def _off_loop(self, key: str, call: Callable[[Any], Any], arg: Any) -> _Check | None:
        """`call(arg)` in this path's one thread, never on the loop: the check under way for `key` if there is one
        (the same key, another `arg`: that check, so the caller can tell), else a new one."""
        loop = asyncio.get_running_loop()
        check = self._checks.get(key)
        if check is None or check.future.get_loop() is not loop:  # another loop's (tests run one loop per request)
            if self._check_thread is None:
                self._check_thread = ThreadPoolExecutor(1, thread_name_prefix="native-trades-check")
            check = _Check(arg, loop.run_in_executor(self._check_thread, call, arg))
            self._checks[key] = check
            check.future.add_done_callback(lambda done: self._check_done(key, done))
        return check

    def _check_done(self, key: str, future: asyncio.Future[Any]) -> None:
        check = self._checks.get(key)
        if check is not None and check.future is future:
            del self._checks[key]
        if key != _VERIFYING and not future.cancelled() and future.exception() is not None:
            log.warning("revocation check failed; the view checks the token",
                        extra={"event": "revocation_check_failed", "error": repr(future.exception())})
        elif not future.cancelled():
            future.exception()  # retrieved: an invalid token goes to the view, which answers it

    def _headers(self, scope: Message) -> dict[bytes, bytes] | None:
        """The request headers this path reads, when the request is one it may answer; else None."""
        if scope.get("query_string") or scope.get("raw_path", b"") != scope["path"].encode() \
                or not self.settings.INGEST_ENABLED:
            return None
        found = self.headers(scope, _WANTED)
        if found is None or found.get(b"content-type") != b"application/json" or b"transfer-encoding" in found \
                or not found.get(b"authorization", b"").startswith(b"Bearer "):
            return None
        length = found.get(b"content-length", b"")
        if not length.isdigit() or len(length) > 12 \
                or int(length) > min(defaults.NATIVE_TRADES_BODY_MAX_BYTES, self.settings.MAX_CONTENT_LENGTH):
            return None
        return found

    def _writes(self, body: bytes, claims: dict[str, Any]) -> list[Any] | None:
        """The body's writes when the view would accept them from this caller; None: the view answers."""
        settings = self.settings
        try:
            decoded = decode_trades_fast(body, datetime.now(UTC), settings)
        except Exception:  # anything unexpected: the view says what is wrong
            decoded = None
        if decoded is None:  # malformed JSON, an invalid trade: the view says what is wrong
            return None
        trades = decoded.trades
        username, role = claims["sub"], claims.get("role", "trader")
        if not all(may_post_for(username, role, trade.trader_id) for trade in trades):
            return None
        return [trade_write(trade) for trade in trades]

    def _score_writes(self, body: bytes, claims: dict[str, Any]) -> list[Any] | None:
        """The compat score's write when its view would accept it from this caller (a service or admin token,
        the game's board already declared); None: the view answers."""
        if claims.get("role") not in SCORE_ROLES:
            return None
        try:
            parsed = orjson.loads(body)
            if not isinstance(parsed, dict) or not SCORE_FIELDS.issuperset(parsed):
                return None  # read_json_object's 422s
            return [game_score_write(parsed, self.settings, clock_of(self.settings)(), self._known_game_board)]
        except Exception:  # an invalid score, an unknown game (the view declares it): the view answers
            return None

    def _known_game_board(self, game_id: str) -> Board:
        registry = self.app.extensions.get(REGISTRY_KEY)
        board = registry.get(f"game-{game_id}") if registry is not None and BOARD_ID_PATTERN.fullmatch(
            f"game-{game_id}") else None
        if board is None:
            raise LookupError(game_id)
        return board  # type: ignore[no-any-return]


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """`receive` that first gives back the body this path already read, then the rest of the client's."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay

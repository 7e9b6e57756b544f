"""A member's rank and the rows around it (`GET /v1/leaderboards/{board}/members/{user}[/around]`) answered by
the ASGI router (live/asgi.py), before a2wsgi and Flask, with the views' own read code (ranking/reads.Reads):
on the loop when this process holds the view in its member micro-cache (MEMBER_CACHE_SECONDS), else computed in
a small thread pool of this module's (its Redis calls never block the loop; Flask's request handling and a2wsgi
are what is skipped). Everything else goes to the Flask view unchanged, so every rule and error stays there.

Answered here only when: a path without percent-escapes, a known board (the registry in memory), a valid member
id, a query of only `period` (and `size` for around), each at most once and valid, no Origin when CORS origins
are set, and a view that is found (a member without a score, Redis down, anything raised: the view answers).
The answer is the view's, byte for byte (api/native.py); tests/test_native_reads.py compares both paths.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from redis.exceptions import RedisError

from ..config import Settings
from ..ranking.boards import Board
from ..ranking.periods import Period
from ..ranking.reads import Reads
from ..read_cache import ReadCache
from ..redis_conn import get_redis
from .native import Message, NativeAnswers, Send
from .params import MEMBER_ID_PATTERN, READ_CACHE_KEY, REGISTRY_KEY

PATH = re.compile(r"/v1/leaderboards/([^/]+)/members/([^/]+)(/around)?")
PREFIX = "/v1/leaderboards/"
MEMBER_ROUTE = "/v1/leaderboards/<board_id>/members/<user_id>"  # the Flask routes' rules (metric labels)
AROUND_ROUTE = "/v1/leaderboards/<board_id>/members/<user_id>/around"
_WANTED = frozenset({b"x-request-id"})
_SIZE = re.compile(r"[0-9]{1,9}")  # params.bounded_int_arg's form


class NativeMemberReads(NativeAnswers):
    def __init__(self, app: Flask, settings: Settings) -> None:
        super().__init__(app, settings)
        # threads start on first use, in the worker that uses them (after the fork)
        self.pool = ThreadPoolExecutor(max(2, settings.WEB_BLOCKING_THREADS), thread_name_prefix="member-reads")
        self._redis: Any = None

    async def __call__(self, scope: Message, send: Send) -> bool:
        """True when answered here; False: Flask answers."""
        started = time.perf_counter()
        match = PATH.fullmatch(scope["path"])
        if match is None or scope.get("raw_path", b"") != scope["path"].encode():
            return False
        headers = self.headers(scope, _WANTED)
        query = self._query(scope["query_string"], around=match[3] is not None)
        if headers is None or query is None or not MEMBER_ID_PATTERN.fullmatch(match[2]):
            return False
        cache: ReadCache | None = self.app.extensions.get(READ_CACHE_KEY)
        registry = self.app.extensions.get(REGISTRY_KEY)
        if cache is None or registry is None:
            return False
        try:
            board = registry.get(match[1])
        except RedisError:
            return False
        if board is None:
            return False
        period, size = query
        payload = self._view(board, period, match[2], size, match[3] is not None, cache, cached_only=True)
        if payload is None:
            payload = await asyncio.get_running_loop().run_in_executor(
                self.pool, self._view, board, period, match[2], size, match[3] is not None, cache)
            if payload is None:
                return False
        await self.answer(send, 200, payload, headers.get(b"x-request-id", b""), "GET",
                          AROUND_ROUTE if match[3] else MEMBER_ROUTE, scope["path"], started)
        return True

    def _view(self, board: Board, period: Period, user_id: str, size: int, around: bool, cache: ReadCache,
              cached_only: bool = False) -> dict[str, Any] | None:
        """The view's payload, as the Flask view computes it; None when the view should answer (not cached with
        `cached_only`, a member without a score, Redis unreachable, anything else raised)."""
        try:
            if not cached_only and self._redis is None:
                with self.app.app_context():
                    self._redis = get_redis()
            reads = Reads(self._redis, cache, cache.clock(), self.settings.HISTORY_DAYS,
                          timedelta(seconds=self.settings.CURSOR_TTL_SECONDS), cached_only=cached_only)
            return reads.around(board, period, user_id, size) if around else reads.member(board, period, user_id)
        except Exception:  # NotCached, MemberNotFound, RedisError, ...: the view renders what it is
            return None

    def _query(self, raw: bytes, around: bool) -> tuple[Period, int] | None:
        """(period, size) of a query the views would accept as it is, else None."""
        try:
            pairs = parse_qsl(raw.decode("latin1"), keep_blank_values=True, strict_parsing=bool(raw))
        except ValueError:
            return None
        values: dict[str, Any] = dict(pairs)
        if len(values) != len(pairs) or not set(values) <= ({"period", "size"} if around else {"period"}):
            return None
        period = values.get("period", "day")
        size = values.get("size", str(self.settings.DEFAULT_LIMIT))
        if period not in Period._value2member_map_ or not _SIZE.fullmatch(size) \
                or not 1 <= int(size) <= self.settings.MAX_LIMIT:
            return None
        return Period(period), int(size)

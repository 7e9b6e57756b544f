"""A member's rank and the rows around it (`GET /v1/leaderboards/{board}/members/{user}[/around]`), and the
go-leader-board compat reads (`GET /api/leaderboard/top/{game}`, `.../rank/{game}/{user}`, api/compat.py), answered by
the ASGI router (live/asgi.py), before a2wsgi and Flask, with the views' own read code (ranking/reads.Reads):
on the loop when this process holds the view in its member micro-cache (MEMBER_CACHE_SECONDS), else computed in
a small thread pool of this module's (its Redis calls never block the loop; Flask's request handling and a2wsgi
are what is skipped). The reads waiting for the pool go in batches (at most NATIVE_READS_BATCH_MAX): a batch's
member views of one board period are computed together (Reads.prefetch: one script call for the ranks, one
pipeline of around scripts, one read of display names), then each answer is built by the view's own code from
them. Everything else goes to the Flask view unchanged, so every rule and error stays there.

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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from .. import defaults
from ..config import Settings
from ..ranking.boards import BOARD_ID_PATTERN, Board
from ..ranking.periods import Period
from ..ranking.reads import Reads
from ..read_cache import ReadCache
from ..redis_conn import get_redis
from .compat import WINDOWS, game_rank_payload, game_top_payload
from .native import Message, NativeAnswers, Send, bounded_size, query_values
from .params import MEMBER_ID_PATTERN, READ_CACHE_KEY, REGISTRY_KEY

PATH = re.compile(r"/v1/leaderboards/([^/]+)/members/([^/]+)(/around)?")
GAME_TOP = re.compile(r"/api/leaderboard/top/([^/]+)")  # compat.py's go-leader-board reads
GAME_RANK = re.compile(r"/api/leaderboard/rank/([^/]+)/([^/]+)")
MEMBER_ROUTE = "/v1/leaderboards/<board_id>/members/<user_id>"  # the Flask routes' rules (metric labels)
AROUND_ROUTE = "/v1/leaderboards/<board_id>/members/<user_id>/around"
GAME_TOP_ROUTE = "/api/leaderboard/top/<game_id>"
GAME_RANK_ROUTE = "/api/leaderboard/rank/<game_id>/<user_id>"
_WANTED = frozenset({b"x-request-id"})


@dataclass(frozen=True)
class _Read:
    """One read to answer: its route label, board id, member (None for a top list) and query values."""

    route: str
    board_id: str
    user_id: str | None
    period: Period
    size: int
    label: str = ""  # a compat window's name
    game_id: str = ""


class NativeMemberReads(NativeAnswers):
    def __init__(self, app: Flask, settings: Settings) -> None:
        super().__init__(app, settings)
        # threads start on first use, in the worker that uses them (after the fork)
        self.threads = max(2, settings.WEB_BLOCKING_THREADS)
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="member-reads")
        self._redis: Any = None
        self._waiting: list[tuple[_Read, Board, asyncio.Future[dict[str, Any] | None]]] = []
        self._batches = 0  # batches in the pool now
        self.batches = 0  # batches computed (tests, curiosity)

    async def __call__(self, scope: Message, send: Send) -> bool:
        """True when answered here; False: Flask answers."""
        started = time.perf_counter()
        read = self._read(scope)
        if read is None or scope.get("raw_path", b"") != scope["path"].encode():
            return False
        headers = self.headers(scope, _WANTED)
        if headers is None or (read.user_id is not None and not MEMBER_ID_PATTERN.fullmatch(read.user_id)):
            return False
        cache: ReadCache | None = self.app.extensions.get(READ_CACHE_KEY)
        registry = self.app.extensions.get(REGISTRY_KEY)
        if cache is None or registry is None or not BOARD_ID_PATTERN.fullmatch(read.board_id):
            return False
        try:
            board = registry.get(read.board_id)
        except RedisError:
            return False
        if board is None:
            return False
        payload = self._view(read, board, cache, cached_only=True)
        if payload is None:
            payload = await self._computed(read, board, cache)
            if payload is None:
                return False
        await self.answer(send, 200, payload, headers.get(b"x-request-id", b""), "GET", read.route, scope["path"],
                          started)
        return True

    async def _computed(self, read: _Read, board: Board, cache: ReadCache) -> dict[str, Any] | None:
        """`_view` off the loop, batched with the other reads waiting: a batch goes to the pool as soon as one
        of its threads is free, with every read that came meanwhile (at most NATIVE_READS_BATCH_MAX), and its
        Redis calls are made together (Reads.prefetch: one round trip for the scripts, one for the names)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any] | None] = loop.create_future()
        self._waiting.append((read, board, future))
        if self._batches < self.threads:
            self._next_batch(loop, cache)
        return await future

    def _next_batch(self, loop: asyncio.AbstractEventLoop, cache: ReadCache) -> None:
        batch = self._waiting[: defaults.NATIVE_READS_BATCH_MAX]
        del self._waiting[: len(batch)]
        if not batch:
            return
        self._batches += 1
        self.batches += 1
        done = loop.run_in_executor(self.pool, self._views, [(read, board) for read, board, _ in batch], cache)

        def settle(finished: asyncio.Future[list[dict[str, Any] | None]]) -> None:
            self._batches -= 1
            payloads = finished.result() if finished.exception() is None else [None] * len(batch)
            for (_read, _board, waiting), payload in zip(batch, payloads, strict=True):
                if not waiting.done():
                    waiting.set_result(payload)
            if self._waiting:
                self._next_batch(loop, cache)

        done.add_done_callback(settle)

    def _views(self, batch: list[tuple[_Read, Board]], cache: ReadCache) -> list[dict[str, Any] | None]:
        """`_view` of each read, their live member views computed together per board period first."""
        reads = self._reads(cache, cached_only=False)
        groups: dict[tuple[str, Period], tuple[Board, list[str], list[tuple[str, int]]]] = {}
        for read, board in batch:
            if read.user_id is None:
                continue  # a top list: from the snapshot
            _board, places, arounds = groups.setdefault((board.id, read.period), (board, [], []))
            if read.route == AROUND_ROUTE:
                arounds.append((read.user_id, read.size))
            else:
                places.append(read.user_id)
        failed = set()
        for key, (board, places, arounds) in groups.items():
            try:
                reads.prefetch(board, key[1], places, arounds)
            except Exception:  # Redis unreachable, ...: the view answers these (not one more try each here)
                failed.add(key)
        return [None if (board.id, read.period) in failed and read.user_id is not None
                else self._view(read, board, cache, reads=reads) for read, board in batch]

    def _reads(self, cache: ReadCache, cached_only: bool) -> Reads:
        if not cached_only and self._redis is None:
            with self.app.app_context():
                self._redis = get_redis()
        return Reads(self._redis, cache, cache.clock(), self.settings.HISTORY_DAYS,
                     timedelta(seconds=self.settings.CURSOR_TTL_SECONDS), cached_only=cached_only)

    def _read(self, scope: Message) -> _Read | None:
        """The read a GET asks for, when its path and query are ones the views would accept as they are."""
        path = scope["path"]
        if path.startswith("/v1/"):
            match = PATH.fullmatch(path)
            if match is None:
                return None
            around = match[3] is not None
            query = self._query(scope["query_string"], {"period", "size"} if around else {"period"})
            if query is None or query.get("period", "day") not in Period._value2member_map_:
                return None
            size = self._size(query.get("size"))
            return None if size is None else _Read(AROUND_ROUTE if around else MEMBER_ROUTE, match[1], match[2],
                                                   Period(query.get("period", "day")), size)
        top, rank = GAME_TOP.fullmatch(path), GAME_RANK.fullmatch(path)
        if top is None and rank is None:
            return None
        query = self._query(scope["query_string"], {"window", "limit"} if top else {"window"})
        if query is None or query.get("window", "all") not in WINDOWS:
            return None
        limit = self._size(query.get("limit"))
        label = query.get("window", "all")
        if rank is not None:
            return _Read(GAME_RANK_ROUTE, f"game-{rank[1]}", rank[2], WINDOWS[label], 0, label, rank[1])
        assert top is not None
        return None if limit is None else _Read(GAME_TOP_ROUTE, f"game-{top[1]}", None, WINDOWS[label], limit, label,
                                                top[1])

    def _view(self, read: _Read, board: Board, cache: ReadCache, cached_only: bool = False,
              reads: Reads | None = None) -> dict[str, Any] | None:
        """The view's payload, as the Flask view computes it; None when the view should answer (not cached with
        `cached_only`, a member without a score, Redis unreachable, anything else raised)."""
        try:
            if reads is None:
                reads = self._reads(cache, cached_only)
            if read.route == AROUND_ROUTE:
                return reads.around(board, read.period, str(read.user_id), read.size)
            if read.route == MEMBER_ROUTE:
                return reads.member(board, read.period, str(read.user_id))
            if read.route == GAME_RANK_ROUTE:
                return game_rank_payload(reads, board, read.game_id, str(read.user_id), read.label, read.period)
            return game_top_payload(reads, board, read.game_id, read.label, read.period, read.size)
        except Exception:  # NotCached, MemberNotFound, RedisError, ...: the view renders what it is
            return None

    @staticmethod
    def _query(raw: bytes, allowed: set[str]) -> dict[str, str] | None:
        return query_values(raw.decode("latin1"), allowed)

    def _size(self, raw: str | None) -> int | None:
        return bounded_size(raw, self.settings.DEFAULT_LIMIT, self.settings.MAX_LIMIT)

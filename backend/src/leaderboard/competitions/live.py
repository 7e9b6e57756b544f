"""Competition boards in the live tier: they stream like boards.

A competition's board is the live board `comp:ID` (scripts.live_board) with the one period `all`. The
competition script adds 1 to its change marks (`keys.live_changes('comp:ID')`, in the `{comp:ID}` slot) in
the same atomic step as any change; the live ticker (live/ticker.py, `sources`) calls `CompetitionLive.tick`
in its tick, which rebuilds the top LIVE_TOP_N of every competition whose marks moved and announces it with
the boards' own code (the diff, the capped event stream, the pub/sub message); `GET
/v1/competitions/{id}/stream` is the boards' stream endpoint (hub, limits, Last-Event-ID) with the
competition's leaderboard page as its `snapshot` event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import keys
from ..api_errors import as_api_error
from ..config import Settings
from ..live.stream import Receive, Scope, Send, StreamEndpoint, refuse_method, send_json_error
from ..live.ticker import announce, moved_marks
from ..ranking.periods import Period
from ..ranking.snapshots import Entry, Snapshot
from ..ranking.store import display_names
from .errors import CompetitionError
from .model import Competition
from .scripts import LIVE_PERIOD, live_board
from .service import CompetitionRegistry, Competitions


@dataclass(frozen=True)
class CompetitionBoard:
    """A competition's board as the live tier sees it (events say `"board": "comp:ID"`)."""

    id: str
    decimals: int


class CompetitionLive:
    """The ticker's source for competition boards (one per ticker thread: its own registry copy)."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.service = Competitions(redis, CompetitionRegistry(redis, settings.COMPETITION_CACHE_SECONDS))

    def snapshot(self, comp: Competition, now: datetime) -> Snapshot:
        """The competition's top LIVE_TOP_N ranked participants now, as a live snapshot."""
        total, rows = self.service.page(comp, 0, self.settings.LIVE_TOP_N)
        names = display_names(self.redis, [m for _r, m, _s in rows])
        entries = tuple(Entry(rank, member, names[member], score) for rank, member, score in rows)
        return Snapshot(live_board(comp.id), Period.ALL, now, now.date(), total, entries, True)

    def tick(self, now: datetime) -> dict[str, int]:
        competitions = list(self.service.registry.all(fresh=True).values())
        marks = moved_marks(self.redis, [live_board(c.id) for c in competitions])
        published = 0
        for comp, (moved, periods) in zip(competitions, marks, strict=True):
            if not moved:
                continue
            if Period.ALL in periods:
                board = CompetitionBoard(live_board(comp.id), comp.decimals)
                published += announce(self.redis, board, self.snapshot(comp, now), self.settings)
            self.redis.hset(keys.live_done(live_board(comp.id)), mapping=moved)
        return {"competitions_published": published}


class CompetitionStreams:
    """GET /v1/competitions/{id}/stream: the boards' stream endpoint over a competition's board."""

    def __init__(self, endpoint: StreamEndpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.service = Competitions(endpoint.redis, CompetitionRegistry(endpoint.redis,
                                                                        settings.COMPETITION_CACHE_SECONDS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, comp_id: str) -> None:
        if await refuse_method(scope, send):
            return
        try:
            comp = await asyncio.to_thread(self.service.registry.get, comp_id)
        except CompetitionError as exc:
            error = as_api_error(exc)
            assert error is not None
            await send_json_error(send, error.status, error.code, error.message, error.details)
            return
        limit = self.endpoint.settings.LIVE_TOP_N
        await self.endpoint.serve(scope, receive, send, live_board(comp.id), LIVE_PERIOD,
                                  lambda: self.service.leaderboard_body(comp, 0, limit, datetime.now(UTC)))

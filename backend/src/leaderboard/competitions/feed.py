"""Trades feed the competitions: the apply path (API flusher and stream consumer) calls `CompetitionFeed.apply`
after a flush's board scripts, with the same writes.

A trade counts on a competition when its **event time** is inside [starts_at, ends_at), its symbol is one the
competition counts, and the competition is not closed: a trade dated inside that arrives after the end still
counts until FINALIZE_GRACE_SECONDS have passed since the end (checked here against the applier's clock), and
never once the finalizer has closed it (checked atomically inside the script). Each trade counts at most once
per competition (its own marker in the competition's slot), so a replayed or retried flush counts nothing
twice. Trades applied before a competition was created are not counted back; every flush asks the registry
whether a competition was added (one HLEN), so a trade applied after the creation counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from .. import keys
from ..ingest.writes import TRADE_PREFIX, Write
from ..ranking.boards import ALL_VOLUME, SYMBOLS
from .model import Competition
from .scripts import Scripts
from .service import CompetitionRegistry

_SYMBOL_OF_BOARD = {s.board: s.symbol for s in SYMBOLS.values()}


class CompetitionFeed:
    def __init__(self, redis: Any, registry: CompetitionRegistry, *, grace_ms: int, marker_ttl: int,
                 chunk_writes: int, now_ms: Callable[[], int]) -> None:
        self.scripts = Scripts(redis)
        self.registry = registry
        self.grace_ms = grace_ms
        self.marker_ttl = marker_ttl
        self.chunk_writes = chunk_writes
        self.now_ms = now_ms

    def _open(self) -> list[Competition]:
        now = self.now_ms()
        return [c for c in self.registry.all(fresh=True).values()  # a competition created a moment ago counts
                if c.starts_at_ms <= now + 86_400_000 and now < c.ends_at_ms + self.grace_ms]

    def apply(self, writes: Sequence[Write]) -> int:
        """Count the trades among `writes` on every open competition they belong to; how many counted."""
        competitions = self._open()
        if not competitions:
            return 0
        per_comp: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
        for write in writes:
            if not write.write_id.startswith(TRADE_PREFIX):
                continue
            symbol = next((_SYMBOL_OF_BOARD[i.board] for i in write.increments
                           if i.board != ALL_VOLUME and i.board in _SYMBOL_OF_BOARD), None)
            if symbol is None:
                continue
            amount = write.increments[0].amount
            for comp in competitions:
                if comp.in_window(write.ts_ms) and comp.counts_symbol(symbol):
                    per_comp[comp.id].append((write.write_id, write.member, amount, write.ts_ms))
        counted = 0
        by_id = {c.id: c for c in competitions}
        for comp_id, rows in per_comp.items():
            comp = by_id[comp_id]
            for start in range(0, len(rows), self.chunk_writes):
                chunk = rows[start : start + self.chunk_writes]
                markers = [keys.competition_seen(comp_id, write_id) for write_id, *_ in chunk]
                args: list[Any] = []
                for _write_id, member, amount, ts_ms in chunk:
                    args.extend((member, amount, ts_ms))
                result = self.scripts.run(comp, "trades", args, markers, self.marker_ttl)
                counted += max(0, result)
        return counted


def competition_feed(redis: Any, settings: Any) -> Callable[[Sequence[Write]], int]:
    """The Applier's `feed` for a process: its own registry copy, the real clock."""
    import time

    registry = CompetitionRegistry(redis, settings.COMPETITION_CACHE_SECONDS)
    feed = CompetitionFeed(redis, registry, grace_ms=int(settings.FINALIZE_GRACE_SECONDS * 1000),
                           marker_ttl=settings.DEDUPE_WINDOW_SECONDS, chunk_writes=settings.APPLY_CHUNK_WRITES,
                           now_ms=lambda: int(time.time() * 1000))
    return feed.apply

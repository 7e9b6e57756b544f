"""The read API's answers, as plain dicts: top-list pages from snapshots, live member views through the
micro-cache, archived days. Views parse the request and call these; these call the store and the cache."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import orjson

from .. import defaults
from ..clock import from_ms, iso, to_ms
from ..read_cache import NotCached, ReadCache
from . import store
from .boards import Board
from .cursor import Cursor
from .errors import CursorExpired, CursorInvalid, HistoryNotFound, MemberNotFound
from .periods import ROLLING_HOURS, Period, day_bucket, day_start, next_midnight
from .snapshots import Entry, Snapshot

T = TypeVar("T")


@dataclass(frozen=True)
class Reads:
    """One request's view of the read side: the Redis client, this process's cache and the time."""

    redis: Any
    cache: ReadCache
    now: datetime
    history_days: int
    cursor_ttl: timedelta = timedelta(seconds=defaults.CURSOR_TTL_SECONDS)
    cached_only: bool = False  # member views only from the micro-cache, else read_cache.NotCached (no Redis)
    # member views computed together by `prefetch` for this request batch (api/native_reads.py), by cache key
    prefetched: dict[Hashable, Any] = field(default_factory=dict, compare=False)

    @property
    def refresh(self) -> timedelta:
        return self.cache.refresh

    # --- lists ---
    def top_page(self, board: Board, period: Period, limit: int, cursor: Cursor | None) -> dict[str, Any]:
        at_least = None
        if cursor is not None and cursor.as_of_ms is not None:
            at_least = from_ms(cursor.as_of_ms)
        snapshot = self.cache.snapshot(board, period, at_least)
        offset = 0
        if cursor is not None:
            offset = self._resume(snapshot, cursor)
        return self._page(board, period, limit, snapshot, offset)

    def _resume(self, snapshot: Snapshot, cursor: Cursor) -> int:
        """Where the page after `cursor` starts in `snapshot`: its offset in its own snapshot, else right after
        its position in a newer one (ranks as of that one) while the cursor is younger than `cursor_ttl` and
        of the same UTC day for `day` (ranking/cursor.py)."""
        if cursor.as_of_ms == to_ms(snapshot.as_of):
            if cursor.offset > len(snapshot.entries):
                raise CursorInvalid("The cursor is not one this service issued.")
            return cursor.offset
        if cursor.position is None or cursor.as_of_ms is None:
            raise CursorExpired(snapshot.as_of)
        cut = from_ms(cursor.as_of_ms)
        if cut > snapshot.as_of + self.refresh:  # from a future snapshot: not one of ours
            raise CursorInvalid("The cursor is not one this service issued.")
        if self.now - cut > self.cursor_ttl or (snapshot.period is Period.DAY and day_bucket(cut) != snapshot.day):
            raise CursorExpired(snapshot.as_of)
        return position_after(snapshot.entries, *cursor.position)

    def first_page_json(self, board: Board, period: Period, limit: int) -> bytes:
        """`top_page` without a cursor, as JSON bytes, rendered once per snapshot and limit in this process:
        the hottest read of the service (the dashboard's poll) costs a dictionary lookup."""
        snapshot = self.cache.snapshot(board, period)
        resets_at = next_midnight(self.now)
        key = (board.id, board.decimals, period, limit)
        rendered = self.cache.rendered_page(key, snapshot, resets_at)
        if rendered is None:
            rendered = orjson.dumps(self._page(board, period, limit, snapshot, 0))
            self.cache.keep_rendered_page(key, snapshot, resets_at, rendered)
        return rendered

    def _page(self, board: Board, period: Period, limit: int, snapshot: Snapshot, offset: int) -> dict[str, Any]:
        return page_body(board, period, snapshot, offset, limit, now=self.now, refresh=self.refresh)

    def top_entries(self, board: Board, period: Period, limit: int) -> tuple[int, tuple[Entry, ...]]:
        """(total, the first `limit` rows) of the current snapshot, for the seed-compatible shapes."""
        snapshot = self.cache.local_snapshot(board, period) if self.cached_only else self.cache.snapshot(board, period)
        if snapshot is None:
            raise NotCached((board.id, period))
        return snapshot.total, snapshot.entries[:limit]

    def history_page(self, board: Board, day: date, limit: int, cursor: Cursor | None) -> dict[str, Any]:
        """An archived day, read live from its day board (late writes dated that day still land there)."""
        today = day_bucket(self.now)
        if not store.history_readable(self.redis, board.id, day, today, self.history_days):
            raise HistoryNotFound(board.id, day, self.history_days, today)
        offset = cursor.offset if cursor is not None else 0
        key = store.period_key(board.id, Period.DAY, day_start(day))
        total, rows = store.page_and_total(self.redis, key, offset, limit, board.ties)
        names = store.display_names(self.redis, [r.member for r in rows])
        end = offset + len(rows)
        scope = f"history:{day.isoformat()}"
        return {
            "board": board.id,
            "period": Period.DAY.value,
            "date": day.isoformat(),
            "as_of": iso(self.now),
            "next_refresh_at": iso(self.now + self.refresh),
            "total": total,
            "entries": [self._entry(board, r, names) for r in rows],
            "next_cursor": Cursor(board.id, scope, None, end).encode() if end < total else None,
            "source": "live",
        }

    # --- live member views (O(log n), micro-cached per process) ---
    def prefetch(self, board: Board, period: Period, places: Sequence[str], arounds: Sequence[tuple[str, int]]) -> None:
        """Compute together the member views of one board period that `member_place(user)` and `around(user,
        size)` are about to be asked for and the micro-cache does not hold: one script call for every place,
        one pipeline of around scripts, one read of display names each (api/native_reads.py batches the
        requests waiting). Kept in the micro-cache and in `prefetched`, where those calls find them, so each
        answer is still built by the one code path the view uses. A member without a score is remembered as
        its MemberNotFound, raised when asked."""
        scope = (board.id, period.value)
        started = self.cache.clock()
        wanted_places = [u for u in dict.fromkeys(places) if not self._held(self._place_key(board, period, u), scope)]
        wanted_arounds = [w for w in dict.fromkeys(arounds)
                          if not self._held(self._around_key(board, period, *w), scope)]
        computed: dict[Hashable, Any] = {}
        if wanted_places:
            for user_id, place in self._member_places(board, period, wanted_places).items():
                computed[self._place_key(board, period, user_id)] = place
        if wanted_arounds:
            for (user_id, size), body in self._arounds(board, period, wanted_arounds).items():
                computed[self._around_key(board, period, user_id, size)] = body
        for key, value in computed.items():
            if not isinstance(value, MemberNotFound):
                self.cache.keep_member_view(key, value, started)
        self.prefetched.update(computed)

    def _held(self, key: Hashable, scope: tuple[str, str]) -> bool:
        try:
            self.cache.member_view(key, _not_computed, scope, cached_only=True)
        except NotCached:
            return False
        return True

    def _member_view(self, key: Hashable, compute: Callable[[], T], scope: tuple[str, str]) -> T:
        """The micro-cache's member view, or the one `prefetch` computed for this batch."""
        if key in self.prefetched:
            found = self.prefetched[key]
            if isinstance(found, MemberNotFound):
                raise found
            return found  # type: ignore[no-any-return]
        return self.cache.member_view(key, compute, scope, self.cached_only)

    def member_place(self, board: Board, period: Period, user_id: str) -> tuple[store.MemberRank, str, datetime]:
        """(place, display name, as_of) of a member; MemberNotFound when it has no score."""
        return self._member_view(self._place_key(board, period, user_id),
                                 lambda: _found(self._member_places(board, period, [user_id])[user_id]),
                                 (board.id, period.value))

    def _place_key(self, board: Board, period: Period, user_id: str) -> Hashable:
        return ("member", board.id, period, self._bucket(period), user_id)

    def _member_places(self, board: Board, period: Period, user_ids: list[str]) -> dict[str, Place | MemberNotFound]:
        """From the list's own snapshot when a member is in it (same rank, score, total and as_of as the list
        beside the card); else read live (deeper than the snapshot, or new since it): newer, never older. The
        live ones in one script call (one moment) and one read of their names."""
        snapshot = self.cache.snapshot(board, period)
        places: dict[str, Place | MemberNotFound] = {}
        live = []
        for user_id in user_ids:
            row = snapshot.row_of(user_id)
            if row is not None:
                places[user_id] = store.MemberRank(row.rank, row.score, snapshot.total), row.name, snapshot.as_of
            else:
                live.append(user_id)
        if not live:
            return places
        key = store.period_key(board.id, period, self.now)
        as_of, (_total, found, names) = self._at_as_of(
            board, period, lambda stamp: _tail(store.ranks_and_names(self.redis, key, live, board.ties, stamp)))
        for user_id in live:
            places[user_id] = ((found[user_id], names[user_id], as_of) if user_id in found
                               else MemberNotFound(board.id, period.value, user_id))
        return places

    def member(self, board: Board, period: Period, user_id: str) -> dict[str, Any]:
        place, name, as_of = self.member_place(board, period, user_id)
        return {
            "board": board.id,
            "period": period.value,
            "user_id": user_id,
            "user_name": name,
            "rank": place.rank,
            "score": store.format_score(place.score, board.decimals),
            "percentile": place.percentile,
            "total": place.total,
            "as_of": iso(as_of),
        }

    def around(self, board: Board, period: Period, user_id: str, size: int) -> dict[str, Any]:
        return self._member_view(self._around_key(board, period, user_id, size),
                                 lambda: _found(self._arounds(board, period, [(user_id, size)])[(user_id, size)]),
                                 (board.id, period.value))

    def _around_key(self, board: Board, period: Period, user_id: str, size: int) -> Hashable:
        return ("around", board.id, period, self._bucket(period), user_id, size)

    def _arounds(self, board: Board, period: Period, wanted: list[tuple[str, int]]
                 ) -> dict[tuple[str, int], dict[str, Any] | MemberNotFound]:
        """Around-me bodies of (member, size) pairs: one round trip for their scripts, one for the names."""
        key = store.period_key(board.id, period, self.now)
        as_of, (found,) = self._at_as_of(
            board, period, lambda stamp: _tail(store.around_many(self.redis, key, wanted, board.ties, stamp)))
        names = store.display_names(self.redis, list(dict.fromkeys(r.member for f in found if f for r in f[1])))
        bodies: dict[tuple[str, int], dict[str, Any] | MemberNotFound] = {}
        for (user_id, size), rows in zip(wanted, found, strict=True):
            if rows is None:
                bodies[(user_id, size)] = MemberNotFound(board.id, period.value, user_id)
                continue
            bodies[(user_id, size)] = {
                "board": board.id,
                "period": period.value,
                "user_id": user_id,
                "entries": [self._entry(board, r, names) for r in rows[1]],
                "total": rows[0],
                "as_of": iso(as_of),
            }
        return bodies

    def members(self, board: Board, period: Period, user_ids: list[str]) -> dict[str, Any]:
        """Ranks of a list of members (friends), best first; ids without a score are listed in `missing`."""
        key = ("members", board.id, period, self._bucket(period), tuple(user_ids))
        return self.cache.member_view(key, lambda: self._members(board, period, user_ids),
                                      (board.id, period.value))

    def _members(self, board: Board, period: Period, user_ids: list[str]) -> dict[str, Any]:
        snapshot = self.cache.snapshot(board, period)
        held = {u: row for u in user_ids if (row := snapshot.row_of(u)) is not None}
        if len(held) == len(set(user_ids)):  # all of them on the list: its rows; else all live (newer, never older)
            return self._members_of_snapshot(board, period, user_ids, snapshot, held)
        as_of = self._as_of(board, period)
        total, found = store.member_ranks(self.redis, store.period_key(board.id, period, self.now), user_ids,
                                          board.ties)
        names = store.display_names(self.redis, list(found))
        ordered = sorted(found.items(), key=lambda item: (item[1].rank, _desc_bytes(item[0])))
        return {
            "board": board.id,
            "period": period.value,
            "entries": [
                {"rank": place.rank, "user_id": member, "user_name": names[member],
                 "score": store.format_score(place.score, board.decimals), "percentile": place.percentile}
                for member, place in ordered
            ],
            "missing": [u for u in user_ids if u not in found],
            "total": total,
            "as_of": iso(as_of),
        }

    @staticmethod
    def _members_of_snapshot(board: Board, period: Period, user_ids: list[str], snapshot: Snapshot,
                             held: dict[str, Entry]) -> dict[str, Any]:
        """The members' rows of the list's own snapshot (same ranks, total and as_of as the list)."""
        ordered = sorted(held.items(), key=lambda item: (item[1].rank, _desc_bytes(item[0])))
        return {
            "board": board.id,
            "period": period.value,
            "entries": [
                {"rank": row.rank, "user_id": member, "user_name": row.name,
                 "score": store.format_score(row.score, board.decimals),
                 "percentile": store.percentile(row.rank, snapshot.total)}
                for member, row in ordered
            ],
            "missing": [],
            "total": snapshot.total,
            "as_of": iso(snapshot.as_of),
        }

    # --- helpers ---
    def _as_of(self, board: Board, period: Period) -> datetime:
        return store.view_as_of(self.redis, board, period, self.now, self.refresh)

    def _at_as_of(self, board: Board, period: Period, read: Callable[[tuple[str, str, str] | None], tuple[Any, T]]
                  ) -> tuple[datetime, T]:
        """(as_of, what `read` read) as `_as_of` then `read` would give them, with a rolling window's stamp read in
        the same round trip, before the rest (`read(stamp)` gives (the stamp, its reads)): when the stamp does
        not serve (store.stamp_as_of) the window is materialized and `read(None)` reads again."""
        if period not in ROLLING_HOURS:
            return self.now, read(None)[1]
        stamp, value = read(store.stamp_fields(board, period))
        as_of = store.stamp_as_of(stamp, self.now, self.refresh)
        if as_of is not None:
            return as_of, value
        store.materialize_window(self.redis, board, period, self.now)
        return self.now, read(None)[1]

    def _bucket(self, period: Period) -> str:
        """Part of a micro-cache key, so a member view cached before 00:00 is not served for the new day."""
        return day_bucket(self.now).isoformat() if period is Period.DAY else ""

    @staticmethod
    def _entry(board: Board, row: store.Ranked, names: dict[str, str]) -> dict[str, Any]:
        return {"rank": row.rank, "user_id": row.member, "user_name": names[row.member],
                "score": store.format_score(row.score, board.decimals)}


Place = tuple[store.MemberRank, str, datetime]  # (place, display name, as_of): Reads.member_place


def _tail(values: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """(first, the rest) of a store read that returns the window stamp first."""
    return values[0], values[1:]


def _found(value: T | MemberNotFound) -> T:
    if isinstance(value, MemberNotFound):
        raise value
    return value


def _not_computed() -> Any:
    raise AssertionError("cached_only never computes")


def page_body(board: Board, period: Period, snapshot: Snapshot, offset: int, limit: int, *, now: datetime,
              refresh: timedelta) -> dict[str, Any]:
    """A top-list page of `snapshot` in the list endpoint's shape (also the stream's `snapshot` event)."""
    rows = snapshot.entries[offset : offset + limit]
    end = offset + len(rows)
    next_cursor = None
    if end < len(snapshot.entries):
        last = snapshot.entries[end - 1] if end else None
        position = (last.score, last.member) if last is not None else None
        next_cursor = Cursor(board.id, period.value, to_ms(snapshot.as_of), end, position).encode()
    resets = {"resets_at": iso(next_midnight(now))} if period is Period.DAY else {}  # only `day` resets
    return {
        "board": board.id,
        "period": period.value,
        "as_of": iso(snapshot.as_of),
        "next_refresh_at": iso(snapshot.as_of + refresh),
        **resets,
        "total": snapshot.total,
        "entries": [
            {"rank": e.rank, "user_id": e.member, "user_name": e.name,
             "score": store.format_score(e.score, board.decimals)}
            for e in rows
        ],
        "next_cursor": next_cursor,
        "source": "live" if snapshot.live else "snapshot",
    }


def position_after(entries: tuple[Entry, ...], score: int, member: str) -> int:
    """Index of the first row of `entries` (best first: score descending, then member id in descending byte
    order) that sorts strictly after (score, member): where the page after that row starts."""
    key = member.encode()
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        entry = entries[middle]
        if entry.score < score or (entry.score == score and entry.member.encode() < key):
            high = middle
        else:
            low = middle + 1
    return low


def _desc_bytes(member: str) -> tuple[int, ...]:
    """Sort key putting member ids in descending byte order (the documented order inside a tie)."""
    return (*tuple(-b for b in member.encode()), 1)


"""Competitions: the registry, joining, the ranked reads, metrics, moderation and teams.

Domain code: it takes a Redis client and the time, raises `CompetitionError`s (the API maps them to its
error shape) and never touches Flask. Every multi-key change is one run of the competition's script
(scripts.py), so it is atomic and touches one hash slot.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.exceptions import RedisError

from .. import keys, metrics
from ..clock import iso, to_ms
from ..ranking.cursor import Cursor
from ..ranking.store import display_names
from .errors import CompetitionError
from .model import Competition, format_minor
from .scripts import Scripts


def not_found(comp_id: str) -> CompetitionError:
    return CompetitionError("not_found", "competition_not_found", f"There is no competition {comp_id!r}.",
                            {"competition": comp_id})


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class CompetitionRegistry:
    """Every competition's spec, through a short per-process cache (the apply path reads it per flush)."""

    def __init__(self, redis: Any, cache_seconds: float) -> None:
        self.redis = redis
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._items: dict[str, Competition] = {}
        self._loaded_at = float("-inf")

    def create(self, comp: Competition) -> bool:
        created = bool(self.redis.hsetnx(keys.competitions_registry(), comp.id, orjson.dumps(comp.to_record())))
        self.invalidate()
        return created

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def all(self, fresh: bool = False) -> dict[str, Competition]:
        """Every competition; within `cache_seconds` from this process's copy, unless `fresh` and the registry
        has a new entry (competitions are only ever added: one HLEN tells)."""
        now = time.monotonic()
        with self._lock:
            cached = now - self._loaded_at < self.cache_seconds
            items = self._items
        if cached and fresh:
            try:
                cached = int(self.redis.hlen(keys.competitions_registry())) == len(items)
            except RedisError:
                metrics.REDIS_ERRORS.labels("competitions").inc()
        if cached:
            return items
        try:
            raw = self.redis.hgetall(keys.competitions_registry())
        except RedisError:
            if self._loaded_at > float("-inf"):
                metrics.REDIS_ERRORS.labels("competitions").inc()
                return self._items
            raise
        items = {_text(k): Competition.from_record(orjson.loads(v)) for k, v in raw.items()}
        with self._lock:
            self._items, self._loaded_at = items, now
        return items

    def get(self, comp_id: str) -> Competition:
        comp = self.all().get(comp_id)
        if comp is None and self.redis.hexists(keys.competitions_registry(), comp_id):
            self.invalidate()  # created a moment ago in another process (an unknown id costs one HEXISTS)
            comp = self.all().get(comp_id)
        if comp is None:
            raise not_found(comp_id)
        return comp


@dataclass(frozen=True)
class Place:
    rank: int | None
    score: int | None  # minor units; None: no score in the window yet


class Competitions:
    """Operations on competitions at `now_ms` (callers pass the time; nothing here reads a clock)."""

    def __init__(self, redis: Any, registry: CompetitionRegistry) -> None:
        self.redis = redis
        self.registry = registry
        self.scripts = Scripts(redis)

    # --- reads ---
    def is_final(self, comp: Competition) -> bool:
        return bool(self.redis.exists(keys.competition(comp.id, "final")))

    def participants(self, comp: Competition) -> int:
        if comp.registration == "open":
            return int(self.redis.hlen(keys.competition(comp.id, "members")))
        return int(self.redis.zcard(keys.competition(comp.id, "all")))

    def describe(self, comp: Competition, now_ms: int) -> dict[str, Any]:
        return comp.to_json(now_ms, self.is_final(comp), self.participants(comp))

    def listing(self, now_ms: int, status: str | None) -> list[dict[str, Any]]:
        found = [self.describe(c, now_ms) for c in self.registry.all().values()]
        if status is not None:
            found = [c for c in found if c["status"] == status]
        order = {"live": 0, "upcoming": 1, "finalizing": 2, "finished": 3}
        return sorted(found, key=lambda c: (order[c["status"]], c["ends_at"], c["id"]))

    def page(self, comp: Competition, offset: int, limit: int) -> tuple[int, list[tuple[int, str, int]]]:
        """(total ranked, rows (rank, member, score)) of the ranked participants from `offset`."""
        rank_key = keys.competition(comp.id, "rank")
        pipe = self.redis.pipeline(transaction=True)
        pipe.zcard(rank_key)
        pipe.zrevrange(rank_key, offset, offset + limit - 1, withscores=True)
        total, rows = pipe.execute()
        out: list[tuple[int, str, int]] = []
        if comp.ties == "shared" and rows:
            above = int(self.redis.zcount(rank_key, f"({int(rows[0][1])}", "+inf"))
            for index, (member, encoded) in enumerate(rows):
                score = comp.decode(encoded)
                if not out:
                    rank = above + 1
                elif score == out[-1][2]:
                    rank = out[-1][0]
                else:
                    rank = offset + index + 1
                out.append((rank, _text(member), score))
        else:
            out = [(offset + i + 1, _text(m), comp.decode(e)) for i, (m, e) in enumerate(rows)]
        return int(total), out

    def leaderboard_body(self, comp: Competition, offset: int, limit: int, now: datetime) -> dict[str, Any]:
        """One page of the competition's leaderboard as the API answers it (the list endpoint, and the
        `snapshot` event of the competition's stream)."""
        total, rows = self.page(comp, offset, limit)
        names = display_names(self.redis, [m for _r, m, _s in rows])
        end = offset + len(rows)
        return {
            "competition": comp.id,
            "status": comp.status(to_ms(now), self.is_final(comp)),
            "as_of": iso(now),
            "total": total,
            "ties": comp.ties,
            "entries": [entry(comp, rank, m, names[m], score) for rank, m, score in rows],
            "next_cursor": Cursor(f"competition:{comp.id}", "competition", None, end).encode() if end < total else None,
        }

    def place(self, comp: Competition, member: str) -> Place:
        rank_key = keys.competition(comp.id, "rank")
        pipe = self.redis.pipeline(transaction=True)
        pipe.zscore(rank_key, member)
        pipe.zrevrank(rank_key, member)
        pipe.zscore(keys.competition(comp.id, "all"), member)
        ranked, position, raw = pipe.execute()
        score = comp.decode(raw) if raw is not None else None
        if ranked is None:
            return Place(None, score)
        if comp.ties == "shared":
            return Place(int(self.redis.zcount(rank_key, f"({int(ranked)}", "+inf")) + 1, score)
        return Place(int(position) + 1, score)

    def member_view(self, comp: Competition, member: str, now_ms: int) -> dict[str, Any]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hexists(keys.competition(comp.id, "members"), member)
        pipe.hget(keys.competition(comp.id, "dq"), member)
        pipe.zscore(keys.competition(comp.id, "vol"), member)
        pipe.hget(keys.competition(comp.id, "team_of"), member)
        joined, dq, volume_raw, team = pipe.execute()
        place = self.place(comp, member)
        volume = int(volume_raw or 0)
        participant = bool(joined) or comp.registration == "none"
        to_qualify = max(0, comp.min_volume - volume)
        final = self.is_final(comp)
        return {
            "competition": comp.id,
            "user_id": member,
            "user_name": display_names(self.redis, [member])[member],
            "participant": participant,
            "qualified": participant and to_qualify == 0 and dq is None and place.score is not None,
            "disqualified": orjson.loads(dq) if dq is not None else None,
            "rank": place.rank,
            "score": _fmt(place.score, comp.decimals),
            "volume": _fmt(volume, 2),
            "to_qualify": _fmt(to_qualify, 2),
            "prize": comp.prize_for(place.rank),
            "team": _text(team) if team is not None else None,
            "status": comp.status(now_ms, final),
        }

    # --- participation ---
    def join(self, comp: Competition, member: str, now_ms: int) -> bool:
        if comp.registration == "none":
            raise CompetitionError("conflict", "registration_not_needed",
                                   "Every trader ranks in this competition; there is nothing to join.")
        if now_ms >= comp.ends_at_ms:
            raise CompetitionError("conflict", "competition_ended", "The competition has ended.")
        added = self.scripts.run(comp, "join", [member, now_ms])
        if added < 0:
            raise CompetitionError("conflict", "competition_ended", "The competition has ended.")
        return added == 1

    def leave(self, comp: Competition, member: str, now_ms: int) -> None:
        if now_ms >= comp.starts_at_ms:
            raise CompetitionError("conflict", "competition_started",
                                   "A participant can leave only before the competition starts.")
        if self.scripts.run(comp, "leave", [member]) != 1:
            raise CompetitionError("not_found", "not_a_participant", f"{member!r} has not joined.",
                                   {"user_id": member})

    # --- metrics (pnl / roi / score) ---
    def post_metrics(self, comp: Competition, entries: list[tuple[str, int, int]]) -> int:
        """Entries (trader, value minor units, as_of ms), each inside the window. How many counted."""
        rows: list[Any] = []
        for trader, value, as_of in entries:
            rows.extend((trader, value, as_of))
        counted = self.scripts.run(comp, "metrics", rows)
        if counted < 0:
            raise CompetitionError("conflict", "competition_final", "The competition's result is final.")
        return counted

    # --- moderation ---
    def disqualify(self, comp: Competition, member: str, reason: str, by: str, at_iso: str) -> None:
        record = {"reason": reason, "by": by, "at": at_iso}
        audit = {"action": "disqualify", "member": member, "reason": reason, "by": by, "at": at_iso}
        if self.scripts.run(comp, "disqualify", [member, orjson.dumps(record), orjson.dumps(audit)]) < 0:
            raise CompetitionError("conflict", "competition_final", "The competition's result is final.")

    def reinstate(self, comp: Competition, member: str, by: str, at_iso: str) -> None:
        audit = {"action": "reinstate", "member": member, "by": by, "at": at_iso}
        done = self.scripts.run(comp, "reinstate", [member, "", orjson.dumps(audit)])
        if done < 0:
            raise CompetitionError("conflict", "competition_final", "The competition's result is final.")
        if done == 0:
            raise CompetitionError("not_found", "not_disqualified", f"{member!r} is not disqualified.",
                                   {"user_id": member})

    def audit(self, comp: Competition) -> list[dict[str, Any]]:
        return [orjson.loads(e) for e in self.redis.lrange(keys.competition(comp.id, "audit"), 0, -1)]

    # --- teams ---
    def create_team(self, comp: Competition, member: str, name: str) -> dict[str, Any]:
        if comp.team_size is None:
            raise CompetitionError("conflict", "no_teams", "This competition has no teams.")
        team_id = uuid.uuid4().hex[:12]
        code = uuid.uuid4().hex[:10]
        team = {"id": team_id, "name": name, "code": code, "captain": member}
        created = self.redis.register_script(CREATE_TEAM_LUA)(
            keys=[keys.competition(comp.id, p) for p in ("teams", "team_of", "team_codes", "closed")],
            args=[team_id, code, member, orjson.dumps(team)])
        if int(created) == 0:
            raise CompetitionError("conflict", "already_in_team", f"{member!r} is already in a team.")
        if int(created) < 0:
            raise CompetitionError("conflict", "competition_final", "The competition's result is final.")
        return team

    def join_team(self, comp: Competition, member: str, code: str) -> dict[str, Any]:
        if comp.team_size is None:
            raise CompetitionError("conflict", "no_teams", "This competition has no teams.")
        result = _text(self.redis.register_script(JOIN_TEAM_LUA)(
            keys=[keys.competition(comp.id, p) for p in ("teams", "team_of", "team_codes", "closed")],
            args=[code, member, comp.team_size]))
        errors = {"unknown": ("not_found", "team_not_found", "No team has this join code."),
                  "member": ("conflict", "already_in_team", f"{member!r} is already in a team."),
                  "full": ("conflict", "team_full", f"The team already has {comp.team_size} members."),
                  "closed": ("conflict", "competition_final", "The competition's result is final.")}
        if result in errors:
            kind, err, message = errors[result]
            raise CompetitionError(kind, err, message)
        team: dict[str, Any] = orjson.loads(self.redis.hget(keys.competition(comp.id, "teams"), result))
        return team

    def teams(self, comp: Competition) -> list[dict[str, Any]]:
        """Teams ranked by the sum of their `team_top_n` best ranked members (all when unset); ties share."""
        raw_teams = self.redis.hgetall(keys.competition(comp.id, "teams"))
        rank_key = keys.competition(comp.id, "rank")
        rows = []
        for raw in raw_teams.values():
            team = orjson.loads(raw)
            members = team.get("members", [])
            scores = self.redis.zmscore(rank_key, members) if members else []
            values = sorted((comp.decode(s) for s in scores if s is not None), reverse=True)
            top = values[: comp.team_top_n] if comp.team_top_n else values
            rows.append({"team_id": team["id"], "name": team["name"], "members": members,
                         "counted": len(top), "score_minor": sum(top)})
        rows.sort(key=lambda r: (-r["score_minor"], r["name"], r["team_id"]))
        out: list[dict[str, Any]] = []
        for index, row in enumerate(rows):
            rank = out[-1]["rank"] if out and row["score_minor"] == rows[index - 1]["score_minor"] else index + 1
            out.append({**{k: v for k, v in row.items() if k != "score_minor"}, "rank": rank,
                        "score": _fmt(row["score_minor"], comp.decimals)})
        return out


CREATE_TEAM_LUA = """
-- KEYS: teams, team_of, team_codes, closed. ARGV: team id, code, member, team JSON (without members)
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 0 end
local team = cjson.decode(ARGV[4])
team['members'] = {ARGV[3]}
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(team))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
return 1
"""

JOIN_TEAM_LUA = """
-- KEYS: teams, team_of, team_codes, closed. ARGV: code, member, team size. Returns the team id or a reason.
if redis.call('EXISTS', KEYS[4]) == 1 then return 'closed' end
local team_id = redis.call('HGET', KEYS[3], ARGV[1])
if not team_id then return 'unknown' end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'member' end
local team = cjson.decode(redis.call('HGET', KEYS[1], team_id))
if #team['members'] >= tonumber(ARGV[3]) then return 'full' end
table.insert(team['members'], ARGV[2])
redis.call('HSET', KEYS[1], team_id, cjson.encode(team))
redis.call('HSET', KEYS[2], ARGV[2], team_id)
return team_id
"""


def entry(comp: Competition, rank: int, member: str, name: str, score: int) -> dict[str, Any]:
    """One row of a competition's leaderboard, with the prize its rank wins."""
    return {"rank": rank, "user_id": member, "user_name": name, "score": format_minor(score, comp.decimals),
            "prize": comp.prize_for(rank)}


def _fmt(minor: int | None, decimals: int) -> str | None:
    return None if minor is None else format_minor(minor, decimals)

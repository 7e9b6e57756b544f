"""Finalization and the result webhook (the scheduler's `competitions` job, every COMPETITION_JOB_SECONDS).

Once FINALIZE_GRACE_SECONDS have passed since a competition's end, the job **closes** it (the script counts
no write after that, atomically), reads the ranked participants, and stores the frozen result with `SET NX`:
the first finalizer wins and every later run (another scheduler, a retry after a crash) finds it and changes
nothing, so two scheduler processes can never produce two results. A competition with a `webhook_url` is put
in the webhook due set first (webhooks.schedule, idempotent), then its result is stored; the delivery itself
(signed, retried with back-off until acknowledged) runs in the scheduler's webhook thread (webhooks.py), never
in this job.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from .. import keys
from ..clock import from_ms, iso
from ..ranking.store import display_names
from .model import Competition
from .scripts import Scripts
from .service import CompetitionRegistry, Competitions
from .webhooks import schedule

log = logging.getLogger(__name__)
RESULTS_TOP_N = 1000  # ranked rows kept in a frozen result (at least every prize rank)


def stored_results(redis: Any, comp: Competition) -> bytes | None:
    raw = redis.get(keys.competition(comp.id, "final"))
    return bytes(raw) if raw is not None else None


def build_results(service: Competitions, comp: Competition, now_ms: int) -> dict[str, Any]:
    depth = max([RESULTS_TOP_N, *(p.to_rank for p in comp.prizes)])
    total, rows = service.page(comp, 0, depth)
    names = display_names(service.redis, [m for _r, m, _s in rows])
    from .model import format_minor

    return {
        "competition": comp.id, "title": comp.title, "metric": comp.metric, "unit": comp.unit,
        "status": "finished", "finalized_at": iso(from_ms(now_ms)),
        "starts_at": iso(from_ms(comp.starts_at_ms)), "ends_at": iso(from_ms(comp.ends_at_ms)),
        "ties": comp.ties, "total": total,
        "entries": [{"rank": rank, "user_id": m, "user_name": names[m], "score": format_minor(score, comp.decimals),
                     "prize": comp.prize_for(rank)} for rank, m, score in rows],
        "prizes": [p.to_json() for p in comp.prizes],
        "teams": service.teams(comp) if comp.team_size else [],
    }


def finalize_due(redis: Any, registry: CompetitionRegistry, now_ms: int, grace_ms: int) -> list[str]:
    """Finalize every competition whose grace has passed; the ids this run finalized (idempotent)."""
    service = Competitions(redis, registry)
    scripts = Scripts(redis)
    done: list[str] = []
    registry.invalidate()
    for comp in registry.all().values():
        if now_ms < comp.ends_at_ms + grace_ms or service.is_final(comp):
            continue
        scripts.run(comp, "close", [iso(from_ms(now_ms))])
        if comp.webhook_url:  # before the result: a crash in between leaves a delivery that waits for it
            redis.hsetnx(keys.competition(comp.id, "webhook"), "state", "pending")
            schedule(redis, comp.id, now_ms)
        results = orjson.dumps(build_results(service, comp, now_ms))
        if redis.set(keys.competition(comp.id, "final"), results, nx=True):
            done.append(comp.id)
            log.info("competition finalized", extra={"event": "competition_finalized", "competition": comp.id})
    return done


"""Finalization and the result webhook (the scheduler's `competitions` job, every COMPETITION_JOB_SECONDS).

Once FINALIZE_GRACE_SECONDS have passed since a competition's end, the job **closes** it (the script counts
no write after that, atomically), reads the ranked participants, and stores the frozen result with `SET NX`:
the first finalizer wins and every later run (another scheduler, a retry after a crash) finds it and changes
nothing, so two scheduler processes can never produce two results. A competition with a `webhook_url` then
gets one delivery state (`HSETNX`), and each tick POSTs the result to it until the receiver answers 2xx:

    X-Leaderboard-Event: competition.finalized
    X-Leaderboard-Delivery: <competition id>
    X-Leaderboard-Timestamp: <unix seconds>
    X-Leaderboard-Signature: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, "<timestamp>.<body>")>

A failed attempt (non-2xx, timeout, refused) is retried after WEBHOOK_RETRY_BASE_SECONDS x 2^(attempts-1),
at most WEBHOOK_RETRY_MAX_SECONDS. Receivers must treat the delivery id as idempotent (a crash between the
POST and recording its answer resends it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

import orjson
import requests

from .. import keys
from ..clock import from_ms, iso
from ..ranking.store import display_names
from .model import Competition
from .scripts import Scripts
from .service import CompetitionRegistry, Competitions

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
        results = orjson.dumps(build_results(service, comp, now_ms))
        if redis.set(keys.competition(comp.id, "final"), results, nx=True):
            done.append(comp.id)
            log.info("competition finalized", extra={"event": "competition_finalized", "competition": comp.id})
        if comp.webhook_url:
            redis.hsetnx(keys.competition(comp.id, "webhook"), "state", "pending")
    return done


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def deliver_webhooks(redis: Any, registry: CompetitionRegistry, now_ms: int, *, secret: str, timeout: float,
                     base_s: float, max_s: float) -> dict[str, str]:
    """One attempt for every due, unacknowledged result webhook; competition id -> outcome."""
    outcomes: dict[str, str] = {}
    for comp in registry.all().values():
        if not comp.webhook_url or not secret:
            continue
        state_key = keys.competition(comp.id, "webhook")
        state = {k.decode(): v.decode() for k, v in redis.hgetall(state_key).items()}
        if state.get("state") != "pending" or int(state.get("next_at_ms", "0")) > now_ms:
            continue
        body = stored_results(redis, comp)
        if body is None:
            continue
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Leaderboard-Event": "competition.finalized",
                   "X-Leaderboard-Delivery": comp.id, "X-Leaderboard-Timestamp": str(timestamp),
                   "X-Leaderboard-Signature": sign(secret, timestamp, body)}
        attempts = int(state.get("attempts", "0")) + 1
        try:
            response = requests.post(comp.webhook_url, data=body, headers=headers, timeout=timeout,
                                     allow_redirects=False)
            ok, error = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            ok, error = False, exc.__class__.__name__
        if ok:
            redis.hset(state_key, mapping={"state": "acknowledged", "attempts": attempts,
                                           "acknowledged_at": iso(from_ms(now_ms))})
            outcomes[comp.id] = "acknowledged"
        else:
            delay = min(max_s, base_s * 2 ** (attempts - 1))
            redis.hset(state_key, mapping={"attempts": attempts, "last_error": error,
                                           "next_at_ms": now_ms + int(delay * 1000)})
            outcomes[comp.id] = f"retry in {delay:g}s ({error})"
        log.info("webhook attempt", extra={"event": "webhook_attempt", "competition": comp.id,
                                           "attempts": attempts, "outcome": outcomes[comp.id]})
    return outcomes

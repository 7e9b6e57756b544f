"""`leaderboard produce --competition ID`: make sure a live demo competition exists for the trades to feed.

The producer's traders have no accounts, so the demo competition ranks every trader (`registration: none`);
it starts now, lasts PRODUCER_COMPETITION_MINUTES, ranks volume on every symbol with first_reached ties, asks
a small qualifying volume and pays a demo prize ladder. Created straight in the registry (the producer's
account is a service account, not an admin). An existing live competition of that id is reused; one that
has ended is left alone and a new id `ID-YYYYmmddHHMM` is created instead.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import defaults
from ..clock import iso, to_ms
from ..competitions.model import validate_competition
from ..competitions.service import CompetitionRegistry
from ..config import Settings

log = logging.getLogger(__name__)

DEMO_PRIZES = [
    {"from_rank": 1, "to_rank": 1, "prize": "1,000 USDT"},
    {"from_rank": 2, "to_rank": 3, "prize": "250 USDT"},
    {"from_rank": 4, "to_rank": 10, "prize": "50 USDT"},
]
DEMO_MIN_VOLUME = "1000"


def ensure_demo_competition(redis: Any, settings: Settings, comp_id: str, now: datetime | None = None) -> str:
    """The id of a live demo competition (created when needed)."""
    now = now or datetime.now(UTC)
    registry = CompetitionRegistry(redis, 0.001)
    existing = registry.all().get(comp_id)
    if existing is not None and to_ms(now) < existing.ends_at_ms:
        return comp_id
    if existing is not None:
        comp_id = f"{comp_id}-{now:%Y%m%d%H%M}"[:48]
    minutes = defaults.PRODUCER_COMPETITION_MINUTES
    comp = validate_competition(
        {"id": comp_id, "title": "Demo trading cup", "metric": "volume", "registration": "none",
         "starts_at": iso(now), "ends_at": iso(now + timedelta(minutes=minutes)), "min_volume": DEMO_MIN_VOLUME,
         "prizes": DEMO_PRIZES, "team_size": 5, "team_top_n": 3},
        resolution_ms=settings.TIES_RESOLUTION_MS, max_days=settings.MAX_COMPETITION_DAYS, max_tiers=20,
        max_team_size=defaults.MAX_TEAM_SIZE, max_volume=settings.MAX_TRADE_NOTIONAL, webhook_signing=False)
    if registry.create(comp):
        log.info("demo competition created", extra={"event": "demo_competition", "competition": comp_id,
                                                   "minutes": minutes})
    return comp_id

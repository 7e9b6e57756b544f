"""What the demo producer (`leaderboard run`) posts before its live trades, so that no screen of a fresh data
dir is empty: game scores, and trades dated on the past few days (real trades through the API with their
event time, so those days' boards are real archives for History). Done once: skipped when yesterday already
has a board."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import defaults, keys
from ..ranking.boards import ALL_VOLUME, SCORES
from ..ranking.periods import day_bucket, day_start
from .delivery import ProducerError
from .http_target import HttpTarget
from .market import TradeGenerator

log = logging.getLogger(__name__)


def past_days_empty(redis: Any, now: datetime) -> bool:
    return not redis.exists(keys.day(ALL_VOLUME, day_bucket(now) - timedelta(days=1)))


def past_trades(generator: TradeGenerator, now: datetime, days: int, per_day: int) -> list[dict[str, Any]]:
    """`per_day` trades on each of the `days` days before today, each dated at a random moment of its day."""
    rng = random.Random(generator.seed)
    trades = []
    for back in range(days, 0, -1):
        start_ms = int(day_start(day_bucket(now) - timedelta(days=back)).timestamp() * 1000)
        for trade in generator.next_batch(per_day):
            trades.append({**trade, "ts": start_ms + rng.randrange(86_400_000)})
    return trades


def seed_demo(target: HttpTarget, generator: TradeGenerator, redis: Any, stopping: Callable[[], bool]) -> None:
    """Scores for a share of the traders on the game board, then the past days (if not there yet)."""
    now = datetime.now(UTC)
    rng = random.Random(generator.seed)
    target.start()
    players = rng.sample(generator.traders, min(defaults.DEMO_SCORE_PLAYERS, len(generator.traders)))
    for player in players:
        if stopping():
            return
        target.post_score(player.trader_id, rng.randrange(100, 50_000), SCORES)
    if not past_days_empty(redis, now):
        return
    trades = past_trades(generator, now, defaults.DEMO_BACKFILL_DAYS, defaults.DEMO_BACKFILL_TRADES_PER_DAY)
    accepted = 0
    for start in range(0, len(trades), defaults.PRODUCER_BATCH_SIZE):
        if stopping():
            return
        accepted += target.send(trades[start : start + defaults.PRODUCER_BATCH_SIZE]).accepted
    if accepted < len(trades):
        raise ProducerError(f"the demo backfill was refused: {len(trades) - accepted} of {len(trades)} trades")
    log.info("demo seeded", extra={"event": "demo_seeded", "scores": len(players), "past_trades": accepted,
                                   "days": defaults.DEMO_BACKFILL_DAYS})

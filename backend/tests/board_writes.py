"""Writes straight into the board keys, exactly as the write path stores them (it is not on this branch):
for a write on board B at event time ts: the all-time set, the day set (EXPIREAT after HISTORY_DAYS) and the
hour set (EXPIREAT past the longest window); `sum` boards ZINCRBY, `best` boards ZADD GT. Plus a clock the
tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leaderboard import keys
from leaderboard.ranking.boards import Board
from leaderboard.ranking.periods import day_bucket, day_bucket_expiry, hour_bucket, hour_bucket_expiry

HISTORY_DAYS = 30


def write(redis: Any, board: Board, member: str, value: int, ts: datetime, history_days: int = HISTORY_DAYS) -> None:
    day, hour = day_bucket(ts), hour_bucket(ts)
    pipe = redis.pipeline(transaction=True)
    for key in (keys.all_time(board.id), keys.day(board.id, day), keys.hour(board.id, hour)):
        if board.mode == "sum":
            pipe.zincrby(key, value, member)
        else:
            pipe.zadd(key, {member: value}, gt=True)
    pipe.expireat(keys.day(board.id, day), day_bucket_expiry(day, history_days))
    pipe.expireat(keys.hour(board.id, hour), hour_bucket_expiry(hour))
    pipe.execute()


@dataclass
class ManualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

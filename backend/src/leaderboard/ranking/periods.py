"""Periods and the buckets a write lands in, decided by the write's event time, never the flush time.

- ``day``: the UTC calendar day; resets at 00:00 UTC. Bucket = the event's UTC date.
- ``24h`` / ``3d`` / ``7d``: rolling windows made of whole UTC hours. At time ``now`` a window of N hours
  covers the current hour and the N-1 hours before it: a write counts until the start of the hour that
  begins N hours after its own hour starts (so it is visible for between N-1 and N hours).
- ``all``: everything, forever.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class Period(StrEnum):
    DAY = "day"
    H24 = "24h"
    D3 = "3d"
    D7 = "7d"
    ALL = "all"


PERIODS: tuple[Period, ...] = tuple(Period)
ROLLING_HOURS: dict[Period, int] = {Period.H24: 24, Period.D3: 72, Period.D7: 168}
LONGEST_WINDOW = timedelta(hours=max(ROLLING_HOURS.values()))
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return ts.astimezone(UTC)


def day_bucket(ts: datetime) -> date:
    return utc(ts).date()


def hour_bucket(ts: datetime) -> datetime:
    return utc(ts).replace(minute=0, second=0, microsecond=0)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def next_midnight(now: datetime) -> datetime:
    """When the `day` board resets: the next 00:00 UTC after `now`."""
    return day_start(day_bucket(now) + DAY)


def window_hours(period: Period, now: datetime) -> list[datetime]:
    """Hour-bucket starts a rolling window covers at `now`, newest first."""
    newest = hour_bucket(now)
    return [newest - i * HOUR for i in range(ROLLING_HOURS[period])]


def in_window(period: Period, ts: datetime, now: datetime) -> bool:
    """Whether a write at `ts` counts in `period` at `now` (the oracle for tests and the docs)."""
    if period is Period.ALL:
        return True
    if period is Period.DAY:
        return day_bucket(ts) == day_bucket(now)
    age = hour_bucket(now) - hour_bucket(ts)
    return timedelta(0) <= age < ROLLING_HOURS[period] * HOUR


def hour_bucket_expiry(hour_start: datetime) -> datetime:
    """An hour bucket is useless once the longest window has passed it; one spare hour for late readers."""
    return hour_start + LONGEST_WINDOW + HOUR


def day_bucket_expiry(day: date, history_days: int) -> datetime:
    """A day board stays readable (as history) for `history_days` after it ends."""
    return day_start(day) + DAY * (1 + history_days)

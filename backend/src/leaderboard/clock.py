"""The injectable clock: every time-dependent function takes `now`; the app's clock
(`context.app_clock()`) says what now is.

Tests put a callable returning an aware datetime in the app config's `extra["CLOCK"]` to control time
without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def system_clock() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the API's one time format."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ms(ts: datetime) -> int:
    return (ts - EPOCH) // MILLISECOND


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * MILLISECOND

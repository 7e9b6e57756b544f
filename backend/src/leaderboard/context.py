"""What code in a request reaches through `current_app`, typed: the settings and the clock.

The domain packages never import this module: they are handed a Redis client, `Settings` and a clock.
"""

from __future__ import annotations

from flask import current_app

from .clock import Clock, system_clock
from .config import Settings


def current_settings() -> Settings:
    """The `Settings` of the current app (built by `create_app`)."""
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def app_clock() -> Clock:
    """The current app's clock: the system clock unless a test put one in `extra["CLOCK"]`."""
    return clock_of(current_settings())


def clock_of(settings: Settings) -> Clock:
    """The clock of an app with `settings` (for code that runs outside a request: api/native_trades.py)."""
    clock: Clock = settings.extra.get("CLOCK", system_clock)
    return clock

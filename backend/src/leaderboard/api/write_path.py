"""The write path as a request reaches it: the app's ingest runtime (started lazily for the app's settings),
its trade id claims, and its /ready check."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from flask import current_app

from ..context import current_settings
from ..ingest import runtime
from ..ingest.claims import WriteClaims
from ..ingest.runtime import IngestRuntime
from ..ingest.writes import Write
from ..redis_conn import bounded_redis

EXTENSION_KEY = "leaderboard.ingest"  # app.extensions key of the app's runtime
CLAIMS_KEY = "leaderboard.claims"  # app.extensions key of the app's WriteClaims
_guard = threading.Lock()


def current_ingest() -> IngestRuntime:
    """The runtime serving the current app; raises IngestDisabled when this server takes no writes."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found: IngestRuntime | None = app.extensions.get(EXTENSION_KEY)
    if found is not None and not found.stopped:
        return found
    settings = current_settings()
    with _guard:
        found = app.extensions.get(EXTENSION_KEY)
        if found is None or found.stopped:
            found = runtime.runtime_for(settings)
            app.extensions[EXTENSION_KEY] = found
    return found


def current_claims() -> WriteClaims:
    """The app's trade id claims (one connection pool per process, made on first use)."""
    claims: WriteClaims | None = current_app.extensions.get(CLAIMS_KEY)
    if claims is None:
        claims = WriteClaims(bounded_redis(), current_settings().DEDUPE_WINDOW_SECONDS)
        claims = current_app.extensions.setdefault(CLAIMS_KEY, claims)
    return claims


def submit(writes: Sequence[Write]) -> None:
    """Durably accept writes into the current app's write path (see ingest/runtime.py)."""
    current_ingest().submit(writes)


def ready_check() -> dict[str, Any]:
    """/ready: the buffer is not full; `state` is "degraded" while flushes to Redis fail."""
    if not current_settings().INGEST_ENABLED:
        return {"ok": True, "state": "disabled"}
    found: IngestRuntime | None = current_app.extensions.get(EXTENSION_KEY) or runtime.process_runtime()
    if found is None or found.stopped:
        return {"ok": True, "state": "idle"}
    return found.status()

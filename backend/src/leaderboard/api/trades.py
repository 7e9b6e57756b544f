"""POST /v1/trades: trades into the write path (WAL + buffer); never waits on Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint

from .. import metrics
from ..api_errors import ApiError, as_api_error, validation_error
from ..auth.guards import can_post_for, roles_required
from ..context import current_settings
from ..extensions import write_rate_limited
from ..http import json_response
from ..ingest.claims import WriteConflict
from ..ingest.errors import BufferFull, IngestDisabled
from ..ingest.validation import InvalidWrite, parse_trades_for
from ..ingest.writes import trade_write
from . import write_path
from .body import read_json

bp = Blueprint("trades", __name__, url_prefix="/v1")


@bp.post("/trades")
@roles_required()
@write_rate_limited
def post_trades() -> Any:
    """Post one trade, or a batch `{"trades": [...]}` (all-or-nothing). Acknowledged (202) once every trade
    is in the write-ahead log; it reaches the boards within BUFFER_MAX_AGE_MS. A `trade_id` counts once per
    trader: an exact retry is a 202 that counts nothing more, the same `trade_id` with other content a 409.
    ---
    tags: [writes]
    """
    body = None
    try:
        body = read_json()
        accepted = accept_trades(body)
    except Exception as exc:
        count_rejected(exc, trade_count(body))
        raise
    return json_response({"accepted": accepted}, 202)


def accept_trades(body: Any) -> int:
    """Validate the body's trades and hand them to the write path; how many were accepted."""
    settings = current_settings()
    try:
        trades = parse_trades_for(body, datetime.now(UTC), settings)
    except InvalidWrite as exc:
        raise validation_error(str(exc), **exc.details()) from None
    is_batch = isinstance(body, dict) and "trades" in body
    for index, trade in enumerate(trades):
        if not can_post_for(trade.trader_id):
            details: dict[str, Any] = {"field": "trader_id", **({"index": index} if is_batch else {})}
            raise ApiError(403, "forbidden", "A trader may post only its own trades (trader_id must be you).", details)
    writes = [trade_write(trade) for trade in trades]
    claims = write_path.current_claims()
    try:
        claimed = claims.claim(writes)
    except WriteConflict as exc:
        metrics.TRADES_CONFLICT.labels("request").inc(len(trades))
        details = {"field": "trade_id", **({"index": exc.index} if is_batch else {})}
        raise ApiError(409, "trade_id_conflict", f"trade_id {trades[exc.index].trade_id!r} of trader "
                       f"{trades[exc.index].trader_id!r} was already used for another trade; a retry must "
                       "resend the same trade, a new trade needs a new trade_id.", details) from None
    try:
        write_path.submit(writes)
    except (BufferFull, IngestDisabled):
        claims.release(claimed)
        raise
    return len(trades)


def trade_count(body: Any) -> int:
    """Trades a refused request carried: a batch's length, else 1."""
    if isinstance(body, dict) and isinstance(body.get("trades"), list) and body["trades"]:
        return len(body["trades"])
    return 1


def count_rejected(exc: Exception, writes: int = 1) -> None:
    """leaderboard_trades_rejected, labelled with the error code the client got (a bounded set); an
    unexpected error (a 500) is not a refusal and is not counted."""
    error = as_api_error(exc)
    if error is not None:
        metrics.TRADES_REJECTED.labels(error.code).inc(writes)

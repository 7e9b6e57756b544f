"""POST /v1/trades: trades into the write path (WAL + buffer); never waits on Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint

from .. import metrics
from ..api_errors import ApiError, as_api_error, validation_error
from ..auth.guards import caller, may_post_for, roles_required
from ..context import current_settings
from ..extensions import write_rate_limited
from ..http import json_response
from ..ingest.claims import WriteConflict
from ..ingest.errors import BufferFull, IngestDisabled
from ..ingest.validation import InvalidWrite, MalformedJson, decode_trades
from ..ingest.writes import Trade, trade_write
from . import write_path
from .body import bad_json, read_raw

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
    count = 1  # trades the request carried, for leaderboard_trades_rejected
    try:
        try:
            trades, is_batch = decode_trades(read_raw(), datetime.now(UTC), current_settings())
        except MalformedJson as exc:
            raise bad_json(str(exc)) from None
        except InvalidWrite as exc:
            count = exc.trades
            raise validation_error(str(exc), **exc.details()) from None
        count = len(trades)
        accepted = accept_trades(trades, is_batch)
    except Exception as exc:
        count_rejected(exc, count)
        raise
    return json_response({"accepted": accepted}, 202)


def accept_trades(trades: list[Trade], is_batch: bool) -> int:
    """Hand the body's valid trades to the write path; how many were accepted."""
    username, role = caller()  # once per request: a batch of 1,000 asked Flask's context 1,000 times
    for index, trade in enumerate(trades):
        if not may_post_for(username, role, trade.trader_id):
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


def count_rejected(exc: Exception, writes: int = 1) -> None:
    """leaderboard_trades_rejected, labelled with the error code the client got (a bounded set); an
    unexpected error (a 500) is not a refusal and is not counted."""
    error = as_api_error(exc)
    if error is not None:
        metrics.TRADES_REJECTED.labels(error.code).inc(writes)

"""A process that accepts writes into its own write path and dies at a named crash point (os._exit).

Usage: python ingest_child.py REDIS_URL DATA_DIR CRASH_POINT TRADES_JSON
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from leaderboard.config import load_settings
from leaderboard.ingest.runtime import IngestRuntime
from leaderboard.ingest.validation import parse_trade
from leaderboard.ingest.writes import trade_write


def main() -> None:
    redis_url, data_dir, crash_point, trades_path = sys.argv[1:5]
    settings = load_settings({
        "REDIS_URL": redis_url, "DATA_DIR": Path(data_dir), "JWT_SECRET_KEY": "x" * 40,
        "BUFFER_MAX_TRADES": 100_000, "BUFFER_MAX_AGE_MS": 60_000, "APPLY_CHUNK_WRITES": 7,
        "INGEST_CRASH_POINT": crash_point,
    }, environ={})
    runtime = IngestRuntime(settings).start()
    now = datetime.now(UTC)
    raw_trades = orjson.loads(Path(trades_path).read_bytes())
    trades = [parse_trade(raw, now, 5, settings.MAX_TRADE_NOTIONAL) for raw in raw_trades]
    runtime.submit([trade_write(t) for t in trades])
    runtime.drain(timeout=20)  # the flush dies at the crash point
    sys.exit(3)  # not reached when the crash point fires


if __name__ == "__main__":
    main()

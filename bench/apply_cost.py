"""Redis cost per trade of the write path (request-path claim + flush through the apply script), from Redis'
own `INFO commandstats`: calls and microseconds per trade, per command (the script's inner commands are
counted by Redis too). The trades go through the real app (Flask test client: login, POST /v1/trades in
batches, then the write path's final flush), on a fresh embedded Redis:

    .venv/bin/python -m bench.apply_cost                                   # this tree
    PYTHONPATH=<old tree>/backend/src .venv/bin/python -m bench.apply_cost  # another commit's

TRADES (default 20,000) trades in batches of 1,000, 1,000 traders, one symbol: each trade counts on its symbol's
board and on all-volume. Results: bench/PROFILE.md."""

from __future__ import annotations

import os
import re
from typing import Any

import orjson

from .in_process import service_app

BATCH = 1000
TRADERS = 1000


def commandstats(client: Any) -> dict[str, tuple[int, float]]:
    """command -> (calls, usec) from INFO commandstats."""
    out = {}
    for name, fields in client.info("commandstats").items():
        out[re.sub(r"^cmdstat_", "", name)] = (int(fields["calls"]), float(fields["usec"]))
    return out


def measure(trades: int) -> dict[str, Any]:
    with service_app(BUFFER_MAX_AGE_MS=50) as (http, headers, client):
        client.config_resetstat()
        for start in range(0, trades, BATCH):
            body = orjson.dumps({"trades": [
                {"trade_id": f"c{n}", "trader_id": f"trader-{n % TRADERS}", "symbol": "SOL", "side": "buy",
                 "quantity": "1", "price": "150"} for n in range(start, start + BATCH)]})
            assert http.post("/v1/trades", data=body, headers=headers).status_code == 202
        from leaderboard.ingest import runtime

        runtime.stop_all()  # the final flush: every trade applied before the stats are read
        stats = commandstats(client)
    return {"trades": trades, "stats": stats}


def main() -> None:
    trades = int(os.environ.get("TRADES", "20000"))
    result = measure(trades)
    rows = sorted(result["stats"].items(), key=lambda item: -item[1][1])
    print(f"{trades:,} trades in batches of {BATCH:,} ({TRADERS:,} traders, SOL): Redis per trade")
    print(f"{'command':20}{'calls/trade':>14}{'µs/trade':>12}")
    skip = {"config|resetstat", "info", "zscore", "auth", "ping", "client|setinfo", "hello"}
    for name, (calls, usec) in rows:
        if name not in skip:
            print(f"{name:20}{calls / trades:>14.2f}{usec / trades:>12.2f}")
    evalsha = result["stats"].get("evalsha", (0, 0.0))
    print(f"EVALSHA total (script time incl. its commands): {evalsha[1] / trades:.2f} µs/trade")


if __name__ == "__main__":
    main()

"""Parse + validate cost per trade, in process: the trade bodies' decode (ingest.validation.decode_trades: msgspec
typed structs, one parser) against what every way in did before it (orjson.loads + parse_trades_for, still the
rules' oracle), alternating in one run, on the shapes the service gets: a single-trade POST body, a 1,000-trade
POST batch and a stream entry (a JSON array of 1,000 trades, the mock producer's). Prints µs per trade (best of
ROUNDS rounds, each about SECONDS long):

    .venv/bin/python -m bench.parse_trades        # ROUNDS=5 SECONDS=0.5

Results: bench/PROFILE.md."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from leaderboard.config import Settings
from leaderboard.ingest.validation import decode_trades, parse_trades_for
from leaderboard.producer.market import TradeGenerator


def per_trade(run: Callable[[], Any], trades: int, seconds: float) -> float:
    """µs per trade of `run` (which handles `trades` trades), repeated for about `seconds`."""
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        run()
        calls += 1
    return elapsed / calls / trades * 1e6


def main() -> None:
    rounds, seconds = int(os.environ.get("ROUNDS", "5")), float(os.environ.get("SECONDS", "0.5"))
    settings, now = Settings(), datetime.now(UTC)
    batch = TradeGenerator(7, 10_000).next_batch(1000)
    shapes = {"single POST body": (orjson.dumps(batch[0]), 1, False),
              "POST batch of 1,000": (orjson.dumps({"trades": batch}), 1000, False),
              "stream entry of 1,000": (orjson.dumps(batch), 1000, True)}
    for name, (raw, trades, array) in shapes.items():

        def before(raw: bytes = raw, array: bool = array) -> Any:
            body = orjson.loads(raw)
            return parse_trades_for({"trades": body} if array else body, now, settings)

        def after(raw: bytes = raw, array: bool = array) -> Any:
            return decode_trades(raw, now, settings, array).trades

        assert before() == after(), name  # the same trades, or the comparison means nothing
        best = {"before": float("inf"), "after": float("inf")}
        for _ in range(rounds):
            for label, run in (("before", before), ("after", after)):
                best[label] = min(best[label], per_trade(run, trades, seconds))
        print(f"{name}: orjson + parse_trades_for {best['before']:.2f} µs/trade, decode_trades {best['after']:.2f} "
              f"µs/trade ({best['before'] / best['after']:.1f}x)", flush=True)


if __name__ == "__main__":
    main()

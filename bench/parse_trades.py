"""Parse + validate cost per trade, in process: the trade bodies' decode (ingest.validation.decode_trades: msgspec
typed structs, one parser) against what every way in did before it (orjson.loads + parse_trades_for, still the
rules' oracle), alternating in one run, on the shapes the service gets: a single-trade POST body, a 1,000-trade
POST batch and a stream entry (a JSON array of 1,000 trades, the mock producer's). Prints µs of CPU per trade (best
of ROUNDS rounds, each about SECONDS of CPU time):

    .venv/bin/python -m bench.parse_trades        # ROUNDS=5 SECONDS=0.5

BEFORE_SRC=<a checkout's backend/src> takes `parse_trades_for` of that checkout's ingest/validation.py (loaded
beside this tree's) for the "before" column, e.g. the commit before decode_trades.

Results: bench/PROFILE.md."""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from leaderboard.config import Settings
from leaderboard.ingest import validation
from leaderboard.ingest.validation import decode_trades
from leaderboard.producer.market import TradeGenerator


def per_trade(run: Callable[[], Any], trades: int, seconds: float) -> float:
    """µs of CPU per trade of `run` (which handles `trades` trades), repeated for about `seconds` of CPU time (this
    thread's: on a shared machine the wall clock also counts the time other processes had the core)."""
    calls, started = 0, time.thread_time()
    while (elapsed := time.thread_time() - started) < seconds:
        run()
        calls += 1
    return elapsed / calls / trades * 1e6


def before_parser() -> Callable[..., Any]:
    src = os.environ.get("BEFORE_SRC")
    if not src:
        return validation.parse_trades_for
    spec = importlib.util.spec_from_file_location("leaderboard.ingest._validation_before",
                                                  os.path.join(src, "leaderboard", "ingest", "validation.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_trades_for  # type: ignore[no-any-return]


def main() -> None:
    rounds, seconds = int(os.environ.get("ROUNDS", "5")), float(os.environ.get("SECONDS", "0.5"))
    settings, now = Settings(), datetime.now(UTC)
    parse_trades_for = before_parser()
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

"""The Python cost of delivering one live event to one stream, in process (part of bench.live; alone:
`python -m bench.live_fanout REDIS_URL`): N streams of one board period on the real hub and stream pump
(live/hub.py, live/stream.py), each with an ASGI `send` that only counts, then events offered through
Hub.deliver until every stream has written each one. What is left per subscriber and event once the frame is
encoded once: the hub calling the stream's send and running it to its end (no task step while the socket takes
the bytes; the server's own send, its socket write and the client are not in it)."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from leaderboard.config import load_settings
from leaderboard.live.hub import frame
from leaderboard.live.stream import StreamEndpoint
from leaderboard.redis_client import connect

STREAMS = 1000
EVENTS = 20
EVENT_BYTES = 6000  # about an update that moves 60 rows


async def _measure(redis_url: str) -> float:
    settings = load_settings({"REDIS_URL": redis_url, "JWT_SECRET_KEY": "x" * 48,
                              "LIVE_MAX_SUBSCRIBERS_PER_ADDRESS": STREAMS})
    endpoint = StreamEndpoint(settings, connect(settings))
    sent = [0]
    never = asyncio.Event()

    async def send(_message: dict[str, Any]) -> None:
        sent[0] += 1

    async def receive() -> dict[str, Any]:
        await never.wait()
        return {"type": "http.disconnect"}

    subscribers = [endpoint.hub.subscribe("bench", "day", "127.0.0.1") for _ in range(STREAMS)]
    pumps = [asyncio.create_task(endpoint._pump(s, receive, send, b": opening\n\n", (0, 0))) for s in subscribers]
    while sent[0] < STREAMS:  # every opening written
        await asyncio.sleep(0)
    data = b"x" * EVENT_BYTES
    started = time.perf_counter()
    for number in range(1, EVENTS + 1):
        endpoint.hub.deliver(("bench", "day"), (number, 0), frame("update", f"{number}-0", data))
        while sent[0] < STREAMS * (number + 1):
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    endpoint.hub.shutdown()
    await asyncio.gather(*pumps, return_exceptions=True)
    for subscriber in subscribers:
        endpoint.hub.unsubscribe(subscriber)
    return elapsed / (STREAMS * EVENTS) * 1e6


def measure(redis_url: str) -> float:
    """Microseconds of this process per stream and event (median of 3 runs)."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    return sorted(runner(_measure(redis_url)) for _ in range(3))[1]


if __name__ == "__main__":
    print(f"{measure(sys.argv[1]):.1f} us per stream and event")

"""Many Server-Sent Events subscribers in one asyncio process (run by bench/live.py, never imported by the
service): `python -m bench.live_clients PORT COUNT OUT_JSON PATH...`. Prints `ready N` once COUNT streams
answered (N of them with 200), then, until SIGTERM, notes for every stream the wall-clock time at which each
`update` event id first arrived; writes {"arrivals": {path: {event id: [t, ...]}}, "connected", "errors",
"bytes", "bytes_at_ready"} to OUT_JSON ("bytes" - "bytes_at_ready": what arrived once every stream had opened,
the updates and heartbeats rather than the opening snapshots). bench/live.py maps the event ids to the trades
they carry (the board period's event stream in Redis), so this process never parses an event's JSON.

It is meant to cost the machine what remote clients would not: a bare asyncio Protocol per connection (no
StreamReader, no task, no line splitting), one regular-expression scan of each received chunk for the
`id: ...\nevent: update` header of a frame; its CPU time is reported next to the results (BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from collections import defaultdict

UPDATE_ID = re.compile(rb"id: (\d{1,15}-\d{1,10})\nevent: update\n")
TAIL = 48  # bytes of the previous chunk searched again: a header split between two reads is still found


class Subscriber(asyncio.Protocol):
    def __init__(self, path: str, request: bytes, arrivals: dict[bytes, list[float]], counts: dict[str, int],
                 answered: asyncio.Event, expected: int) -> None:
        self.path, self.request, self.arrivals, self.counts = path, request, arrivals, counts
        self.answered, self.expected = answered, expected
        self.head = b""
        self.tail = b""
        self.streaming = False
        self.seen: set[bytes] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]  # a stream transport (uvloop's is no subclass)

    def data_received(self, data: bytes) -> None:
        self.counts["bytes"] += len(data)
        if not self.streaming:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = b" 200 " in self.head.split(b"\r\n", 1)[0]
            self._answer("connected" if ok else "errors")
            self.streaming, data = ok, self.head[end + 4 :]
            self.head = b""
            if not ok:
                return
        now = time.time()
        for match in UPDATE_ID.finditer(self.tail + data):
            event_id = match[1]
            if event_id not in self.seen:
                self.seen.add(event_id)
                self.arrivals[event_id].append(now)
        self.tail = data[-TAIL:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.streaming:
            self._answer("errors")

    def _answer(self, outcome: str) -> None:
        self.counts[outcome] += 1
        if self.counts["connected"] + self.counts["errors"] >= self.expected:
            self.answered.set()


async def main() -> None:
    port, count, out, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    loop = asyncio.get_running_loop()
    arrivals: dict[str, dict[bytes, list[float]]] = {path: defaultdict(list) for path in paths}
    counts = {"connected": 0, "errors": 0, "bytes": 0, "bytes_at_ready": 0}
    answered, stop = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    transports = []
    for number in range(count):
        path = paths[number % len(paths)]
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        try:
            transport, _protocol = await loop.create_connection(
                lambda path=path, request=request: Subscriber(path, request, arrivals[path], counts, answered, count),
                "127.0.0.1", port)
            transports.append(transport)
        except OSError:
            counts["errors"] += 1
        if number % 100 == 99:
            await asyncio.sleep(0.05)  # a gentle ramp: no accept-queue overflow
    if counts["connected"] + counts["errors"] < count:
        with contextlib.suppress(TimeoutError):  # then fewer are reported connected than asked
            await asyncio.wait_for(answered.wait(), 60)
    await asyncio.sleep(0.5)  # the opening snapshots (sent right after each head) are in
    counts["bytes_at_ready"] = counts["bytes"]
    print(f"ready {counts['connected']}", flush=True)
    await stop.wait()
    for transport in transports:
        transport.close()
    with open(out, "w") as handle:
        json.dump({"arrivals": {path: {k.decode(): v for k, v in by_id.items()} for path, by_id in arrivals.items()},
                   **counts}, handle)


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())

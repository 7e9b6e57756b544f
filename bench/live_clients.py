"""Many Server-Sent Events subscribers in one asyncio process (run by bench/live.py, never imported by the
service): `python -m bench.live_clients PORT COUNT OUT_JSON PATH...`. Prints `ready N` once COUNT streams
answered 200, then records, per trader id seen in an event's rows, the wall-clock arrival time at each
subscriber, until SIGTERM; writes {"arrivals": {trader: [t, ...]}, "connected": n, "errors": e} to OUT_JSON."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections import defaultdict

USER_ID = re.compile(rb'"user_id":"([^"]+)"')


async def subscriber(port: int, path: str, arrivals: dict[str, list[float]], ready: list[int],
                     errors: list[int]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            errors[0] += 1
            return
        ready[0] += 1
        seen: set[bytes] = set()
        first = True
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                if first:  # the snapshot: what is on the board already is no delivery
                    seen.update(USER_ID.findall(line))
                    first = False
                    continue
                now = time.time()
                for trader in USER_ID.findall(line):
                    if trader not in seen:
                        seen.add(trader)
                        arrivals[trader.decode()].append(now)
    except (OSError, asyncio.IncompleteReadError):
        errors[0] += 1


async def main() -> None:
    port, count, out, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    arrivals: dict[str, list[float]] = defaultdict(list)
    ready, errors = [0], [0]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(subscriber(port, paths[number % len(paths)], arrivals, ready, errors)))
        if number % 100 == 99:
            await asyncio.sleep(0.05)  # a gentle ramp: no accept-queue overflow
    deadline = time.monotonic() + 60
    while ready[0] + errors[0] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(f"ready {ready[0]}", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    with open(out, "w") as handle:
        json.dump({"arrivals": arrivals, "connected": ready[0], "errors": errors[0]}, handle)


if __name__ == "__main__":
    asyncio.run(main())

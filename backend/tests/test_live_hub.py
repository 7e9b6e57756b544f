"""The hub's fan-out in one process, on the real hub and stream pump (live/hub.py, live/stream.py) with ASGI
`send`s that record what they are given and can be made to wait like a full socket: an idle stream is written
by the hub at once, a stream whose send waits gets the events that came meanwhile after it, in order and in one
send, and never again what its opening replayed; one that falls behind is dropped without holding up the
others. (The same through real servers and sockets: test_live_stream.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

from leaderboard.config import load_settings
from leaderboard.live.hub import frame
from leaderboard.live.stream import StreamEndpoint
from leaderboard.redis_client import connect

from .helpers import TEST_SECRET

KEY = ("eth", "day")


class Client:
    """An ASGI send that keeps each body it is given; while `full`, a send waits until the socket drains."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.full = False
        self.drained = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        if self.full:
            await self.drained.wait()
        if message.get("more_body"):
            self.bodies.append(message["body"])

    def drain(self) -> None:
        self.full = False
        self.drained.set()

    def ids(self) -> list[str]:
        return [line[4:] for body in self.bodies for line in body.decode().split("\n") if line.startswith("id: ")]


async def never() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


def event(number: int) -> tuple[tuple[int, int], bytes]:
    return (number, 0), frame("update", f"{number}-0", b'{"n":%d}' % number)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def open_streams(endpoint: StreamEndpoint, count: int, replayed_to: int = 0):
    clients = [Client() for _ in range(count)]
    subscribers = [endpoint.hub.subscribe(*KEY, "127.0.0.1") for _ in clients]
    pumps = [asyncio.create_task(endpoint._pump(subscriber, never, client.send, b"retry: 1000\n\n",
                                                (replayed_to, 0)))
             for subscriber, client in zip(subscribers, clients, strict=True)]
    await settle()
    return clients, subscribers, pumps


async def close(endpoint: StreamEndpoint, subscribers, pumps) -> None:
    endpoint.hub.shutdown()
    _done, stuck = await asyncio.wait(pumps, timeout=5)
    assert not stuck, "a stream did not end on shutdown"
    for subscriber in subscribers:
        endpoint.hub.unsubscribe(subscriber)


def endpoint_for(redis_url: str, **overrides: Any) -> StreamEndpoint:
    settings = load_settings({"REDIS_URL": redis_url, "JWT_SECRET_KEY": TEST_SECRET, **overrides})
    return StreamEndpoint(settings, connect(settings))


def test_an_idle_stream_is_written_by_the_hub_at_once_and_a_waiting_one_gets_the_rest_in_order(redis_url):
    async def scenario() -> None:
        endpoint = endpoint_for(redis_url, LIVE_QUEUE_EVENTS=10)
        (fast, slow), subscribers, pumps = await open_streams(endpoint, 2)
        endpoint.hub.deliver(KEY, *event(1))
        assert fast.ids() == ["1-0"] and slow.ids() == ["1-0"]  # written within deliver: no task ran meanwhile
        slow.full = True
        for number in (2, 3, 4):
            endpoint.hub.deliver(KEY, *event(number))
            assert fast.ids()[-1] == f"{number}-0"
        await settle()
        assert slow.ids() == ["1-0"]  # its send of event 2 waits for the socket; 3 and 4 wait behind it
        slow.drain()
        await settle()
        assert slow.ids() == ["1-0", "2-0", "3-0", "4-0"]
        assert len(slow.bodies) == 4  # the opening, event 1, event 2, then 3 and 4 in one send
        endpoint.hub.deliver(KEY, *event(5))
        assert slow.ids()[-1] == "5-0" and fast.ids()[-1] == "5-0"  # idle again: written at once
        assert fast.ids() == ["1-0", "2-0", "3-0", "4-0", "5-0"]
        await close(endpoint, subscribers, pumps)

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_what_the_opening_replayed_is_not_written_again(redis_url):
    async def scenario() -> None:
        endpoint = endpoint_for(redis_url)
        (client,), subscribers, pumps = await open_streams(endpoint, 1, replayed_to=7)
        for number in (6, 7, 8):
            endpoint.hub.deliver(KEY, *event(number))
        assert client.ids() == ["8-0"]
        await close(endpoint, subscribers, pumps)

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_stream_that_falls_behind_is_dropped_and_the_others_go_on(redis_url):
    async def scenario() -> None:
        endpoint = endpoint_for(redis_url, LIVE_QUEUE_EVENTS=3)
        (fast, slow), subscribers, pumps = await open_streams(endpoint, 2)
        slow.full = True
        for number in range(1, 8):
            endpoint.hub.deliver(KEY, *event(number))
            await settle()
        assert fast.ids() == [f"{n}-0" for n in range(1, 8)]
        assert subscribers[1].dropped == "slow_client"
        assert not pumps[0].done()
        slow.drain()
        await settle()
        assert pumps[1].done()  # the slow stream ended after its send in flight; nothing queued was written
        assert slow.ids() == ["1-0"]
        await close(endpoint, subscribers, pumps)

    asyncio.run(asyncio.wait_for(scenario(), 10))

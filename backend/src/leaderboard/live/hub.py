"""The per-process fan-out of live events: one pub/sub subscription per server process, any number of streams.

Each stream registers a `Subscriber` under its board period. The hub's listener task reads `keys.LIVE_CHANNEL`,
turns each event into one frame (serialized once, whatever the number of subscribers) and offers it to every
subscriber of that board period without waiting: written at once to a stream whose socket takes it (the
common case: no task wakes up), else queued for the stream's task; a subscriber whose queue is full
(LIVE_QUEUE_EVENTS) is dropped as a slow client, so one slow reader never slows the others. Each message names
its predecessor's id; when the hub sees another predecessor than the last id it has (its subscription dropped
a message, or it reconnected) it reads the missing events from the board period's event stream first, so
subscribers never see a silent gap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter, defaultdict
from typing import Any

import redis.asyncio as aioredis

from .. import keys, metrics
from ..config import Settings
from ..read_cache import LIVE_MARKS
from .events import decode_message

log = logging.getLogger(__name__)

EVENT_ID = re.compile(r"(\d{1,15})-(\d{1,10})")  # a Redis stream id: what Last-Event-ID may carry


def parse_id(raw: str) -> tuple[int, int] | None:
    match = EVENT_ID.fullmatch(raw)
    return (int(match[1]), int(match[2])) if match else None


def frame(kind: str, event_id: str, data: bytes) -> bytes:
    """One SSE event. `data` is one line of JSON (orjson never writes a raw newline)."""
    return b"id: " + event_id.encode() + b"\nevent: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def fields_prev(fields: dict[bytes, bytes]) -> str:
    return fields.get(b"prev", b"").decode()


Message = dict[str, Any]  # one ASGI `http.response.body` message: built once per event, shared by its subscribers
HEARTBEAT_ID = (-1, -1)  # the id a heartbeat is offered under; never an event id


def body_message(data: bytes) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": True}


HEARTBEAT_MESSAGE = body_message(b": heartbeat\n\n")


class Subscriber:
    """One open stream: how to write to it, and what the hub's watchdog needs to know of it.

    While the stream's task waits with nothing to write (`parked`), the hub writes each event to the stream
    itself, at once: it calls the server's `send` and runs it as far as it goes without waiting, which is to the
    end unless the client's socket is full (no task step, no future per stream and event). A send that has to
    wait becomes `inflight` and the task finishes it; events that come meanwhile wait in `pending` and the task
    writes them in one send. `sending_since` is set while a send waits, so the watchdog can drop a client whose
    socket takes nothing for LIVE_SEND_TIMEOUT_SECONDS (no timeout object per write)."""

    __slots__ = ("address", "dropped", "inflight", "key", "last_sent", "last_write", "limit", "opened_at",
                 "parked", "pending", "send", "sending_since", "stalled", "task", "waiter")

    def __init__(self, key: tuple[str, str], address: str, queue_events: int) -> None:
        self.key = key
        self.address = address
        self.limit = queue_events
        self.pending: list[tuple[tuple[int, int], Message]] = []
        self.waiter: asyncio.Future[None] | None = None
        self.dropped = ""  # why the hub ended this stream ("slow_client", "shutdown", ...)
        self.task: asyncio.Task[Any] | None = None
        self.send: Any = None  # the server's ASGI send for this stream, once it is open
        self.parked = False  # the task waits for work: the hub may write to the stream itself
        self.inflight: tuple[Any, Any] | None = None  # a send the hub started that waits: (its steps, on what)
        self.last_sent = (0, 0)  # id of the newest event written (or replayed by the opening)
        self.opened_at = self.last_write = time.monotonic()
        self.sending_since = 0.0  # monotonic time the send in flight started; 0 when none is
        self.stalled = False  # the watchdog cancelled a send that took longer than LIVE_SEND_TIMEOUT_SECONDS

    def offer(self, event_id: tuple[int, int], message: Message) -> bool:
        """Write the event now if the stream is idle, else queue it for the stream's task. True when an update
        event was written (a heartbeat, an event the opening replayed, a queued one: False)."""
        if self.dropped:
            return False
        update = event_id is not HEARTBEAT_ID
        if update and event_id <= self.last_sent:
            return False  # the opening replayed it
        if self.parked and not self.pending and self.inflight is None:
            return self._send_now(event_id, message, update)
        if len(self.pending) >= self.limit:
            self.end("slow_client")
            return False
        self.pending.append((event_id, message))
        self._wake()
        return False

    def _send_now(self, event_id: tuple[int, int], message: Message, update: bool) -> bool:
        try:
            steps = self.send(message).__await__()
            waits_on = next(steps)
        except StopIteration:  # written: the common case
            self.last_write = time.monotonic()
            if update:
                self.last_sent = event_id
            return update
        except Exception:  # the client went away
            self.end("gone")
            return False
        self.inflight = (steps, waits_on)  # the socket is full: the task waits for it
        self.sending_since = time.monotonic()
        if update:
            self.last_sent = event_id
        self._wake()
        return update

    def end(self, reason: str) -> None:
        if self.dropped:
            return
        self.dropped = reason
        self.pending.clear()
        self._wake()

    def _wake(self) -> None:
        self.parked = False
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Hub:
    def __init__(self, settings: Settings, redis: Any) -> None:
        self.settings = settings
        self.redis = redis  # synchronous client, used from threads for the catch-up reads
        self.subscribers: dict[tuple[str, str], set[Subscriber]] = defaultdict(set)
        self.per_address: Counter[str] = Counter()
        self.count = 0
        self.last_ids: dict[tuple[str, str], str] = {}
        self.closing = False
        self.connected = False
        self.sent = 0  # update events written since the watchdog last added them to the metric
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    # --- subscribers ---
    def admit(self, address: str) -> str:
        """'' when a new stream from `address` may open, else the reason it may not."""
        if self.closing:
            return "shutdown"
        if self.count >= self.settings.LIVE_MAX_SUBSCRIBERS:
            return "process_full"
        if self.per_address[address] >= self.settings.LIVE_MAX_SUBSCRIBERS_PER_ADDRESS:
            return "address_full"
        return ""

    def subscribe(self, board: str, period: str, address: str) -> Subscriber:
        self._ensure_listening()
        subscriber = Subscriber((board, period), address, self.settings.LIVE_QUEUE_EVENTS)
        self.subscribers[subscriber.key].add(subscriber)
        self.per_address[address] += 1
        self.count += 1
        metrics.LIVE_SUBSCRIBERS.inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        group = self.subscribers.get(subscriber.key)
        if group is None or subscriber not in group:
            return
        group.discard(subscriber)
        if not group:
            del self.subscribers[subscriber.key]
        self.per_address[subscriber.address] -= 1
        if self.per_address[subscriber.address] <= 0:
            del self.per_address[subscriber.address]
        self.count -= 1
        metrics.LIVE_SUBSCRIBERS.dec()
        if subscriber.dropped:
            metrics.LIVE_DROPPED.labels(subscriber.dropped).inc()

    def shutdown(self) -> None:
        """End every stream now (the server is stopping); clients reconnect, elsewhere or after the restart."""
        self.closing = True
        for group in list(self.subscribers.values()):
            for subscriber in list(group):
                subscriber.end("shutdown")
        if self._task is not None:
            self._task.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    # --- the listener ---
    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self._watch_period(), self._watch)

    # --- the watchdog: one timer per process for every stream's heartbeat, lifetime and send timeout ---
    def _watch_period(self) -> float:
        settings = self.settings
        return max(0.05, min(1.0, settings.LIVE_HEARTBEAT_SECONDS / 2, settings.LIVE_SEND_TIMEOUT_SECONDS / 2))

    def _watch(self) -> None:
        self._watchdog = None
        if self.closing:
            return
        settings, now = self.settings, time.monotonic()
        quiet_since = now - settings.LIVE_HEARTBEAT_SECONDS
        stuck_since = now - settings.LIVE_SEND_TIMEOUT_SECONDS
        born_before = now - settings.LIVE_MAX_STREAM_SECONDS
        for group in list(self.subscribers.values()):
            for subscriber in list(group):
                if subscriber.sending_since:
                    if subscriber.sending_since < stuck_since and subscriber.task is not None:
                        subscriber.dropped = subscriber.dropped or "slow_client"
                        subscriber.sending_since = 0.0  # cancelled once: the send ends, and so does the stream
                        subscriber.stalled = True
                        subscriber.task.cancel()
                elif subscriber.opened_at < born_before:
                    subscriber.end("lifetime")
                elif subscriber.last_write < quiet_since and not subscriber.pending:
                    subscriber.last_write = now
                    subscriber.offer(HEARTBEAT_ID, HEARTBEAT_MESSAGE)
        if self.sent:
            metrics.LIVE_EVENTS_SENT.labels("update").inc(self.sent)
            self.sent = 0
        if self.count:
            self._watchdog = asyncio.get_running_loop().call_later(self._watch_period(), self._watch)

    async def _listen(self) -> None:
        backoff = 0.1
        while not self.closing:
            client = aioredis.Redis.from_url(self.settings.REDIS_URL, socket_connect_timeout=2,
                                             health_check_interval=30)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(keys.LIVE_CHANNEL)
                    self.connected, backoff = True, 0.1
                    await self._catch_up_all()  # whatever was published while not subscribed
                    while not self.closing:
                        message = await pubsub.get_message(timeout=5.0)
                        if message is not None and message.get("type") == "message":
                            await self._on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected:
                    log.warning("live subscription lost", extra={"event": "live_hub_lost", "error": repr(exc)})
                self.connected = False
            finally:
                await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(5.0, backoff * 2)

    async def _on_message(self, raw: bytes) -> None:
        head, data = decode_message(raw)
        key = (head["board"], head["period"])
        known = self.last_ids.get(key)
        if known is not None and head["prev"] != known and self.subscribers.get(key):
            await self._catch_up(key, known)  # a message went missing: read it from the event stream
            known = self.last_ids.get(key)
        event_id = parse_id(head["id"])
        if event_id is None or (known is not None and (parse_id(known) or (0, 0)) >= event_id):
            return
        self.last_ids[key] = head["id"]
        if LIVE_MARKS:
            LIVE_MARKS[0].note(head)  # this process's lists serve this snapshot before a stream shows it
        self.deliver(key, event_id, frame("update", head["id"], data))

    def deliver(self, key: tuple[str, str], event_id: tuple[int, int], data: bytes) -> None:
        """Offer one event to every stream of its board period: one frame, one ASGI message, shared by all."""
        message = body_message(data)
        for subscriber in list(self.subscribers.get(key, ())):
            self.sent += subscriber.offer(event_id, message)

    async def _catch_up_all(self) -> None:
        for key in list(self.subscribers):
            if key in self.last_ids:
                await self._catch_up(key, self.last_ids[key])

    async def _catch_up(self, key: tuple[str, str], after: str) -> None:
        entries = await asyncio.to_thread(
            self.redis.xrange, keys.live_events(*key), f"({after}", "+", self.settings.LIVE_HISTORY)
        if entries and fields_prev(entries[0][1]) != after:  # trimmed past `after`: the gap cannot be filled
            for subscriber in list(self.subscribers.get(key, ())):
                subscriber.end("resync")  # it reconnects with its Last-Event-ID and gets a fresh snapshot
        for raw_id, fields in entries:
            event_id = raw_id.decode()
            parsed = parse_id(event_id)
            if parsed is None:
                continue
            self.last_ids[key] = event_id
            self.deliver(key, parsed, frame("update", event_id, fields[b"data"]))

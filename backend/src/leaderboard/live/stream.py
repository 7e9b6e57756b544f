"""GET /v1/leaderboards/{board}/stream?period= : the live top list as Server-Sent Events, natively on the
server's event loop (an open stream costs a task and a few kB, never a worker thread).

A stream starts with `retry:` advice and a `snapshot` event (the list endpoint's first page, LIVE_TOP_N rows,
same `as_of` as the list), then an `update` event per published change of its board period (rows that entered
the top or changed score or name, with their previous rank, ids that left the top, the new `as_of`; the client
derives the rows that only shifted: live/events.py), and a heartbeat comment after
LIVE_HEARTBEAT_SECONDS without a write. Event ids are the ids of the board period's event stream in Redis, so a
client that reconnects with `Last-Event-ID` (any process, after any restart) gets every event it missed, or a
fresh snapshot when they are no longer kept: never a silent gap.

Limits (named settings): LIVE_MAX_SUBSCRIBERS per process (503) and LIVE_MAX_SUBSCRIBERS_PER_ADDRESS (429),
both with Retry-After; LIVE_MAX_STREAM_SECONDS total lifetime; a client that takes no bytes for
LIVE_SEND_TIMEOUT_SECONDS or lets LIVE_QUEUE_EVENTS events queue up is dropped. On SIGTERM every stream ends
at once (the client reconnects to another instance, or to this one once restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson

from .. import defaults, keys, metrics
from ..api_errors import as_api_error
from ..config import Settings
from ..ranking import snapshots
from ..ranking.boards import Board, BoardRegistry
from ..ranking.errors import BoardNotFound
from ..ranking.periods import PERIODS, Period
from ..ranking.reads import page_body
from ..security_headers import SECURITY_HEADERS
from .hub import HEARTBEAT_ID, Hub, Subscriber, body_message, fields_prev, frame, parse_id

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx and friends: do not buffer the stream
    *[(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()],
]


async def send_json_error(send: Send, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                          headers: dict[str, str] | None = None) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message, "details": details or {}}})
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            *[(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            *[(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def refuse_method(scope: Scope, send: Send) -> bool:
    """Answer 405 (and say so) unless the request is a GET or HEAD."""
    if scope["method"] in ("GET", "HEAD"):
        return False
    await send_json_error(send, 405, "method_not_allowed", "The stream is read with GET.",
                          headers={"Allow": "GET, HEAD"})
    return True


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class StreamEndpoint:
    def __init__(self, settings: Settings, redis: Any) -> None:
        self.settings = settings
        self.redis = redis
        self.hub = Hub(settings, redis)
        self.boards = BoardRegistry(redis)
        self._snapshots: dict[tuple[str, str], tuple[str, float, bytes]] = {}  # (newest id, built at, frame)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, board_id: str) -> None:
        if await refuse_method(scope, send):
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        raw_period = query.get("period", ["day"])[-1]
        try:
            period = Period(raw_period)
        except ValueError:
            allowed = [p.value for p in PERIODS]
            await send_json_error(send, 400, "invalid_period",
                                  f"period must be one of {', '.join(allowed)}; got {raw_period[:64]!r}.",
                                  {"allowed": allowed})
            return
        try:
            board = await asyncio.to_thread(self.boards.require, board_id)
        except BoardNotFound as exc:
            error = as_api_error(exc)
            assert error is not None
            await send_json_error(send, error.status, error.code, error.message, error.details)
            return
        await self.serve(scope, receive, send, board.id, period.value, lambda: self._snapshot_body(board, period))

    async def serve(self, scope: Scope, receive: Receive, send: Send, board_id: str, period: str,
                    snapshot_body: Callable[[], dict[str, Any]]) -> None:
        """Stream the live events of `board_id` x `period` (validated by the caller), opening with a replay
        from Last-Event-ID or a `snapshot` event of `snapshot_body()` (called in a thread). Boards and the
        competition boards (competitions/live.py) share this, the hub and the limits."""
        address = (scope.get("client") or ("unknown", 0))[0]
        refused = self.hub.admit(address)
        if refused:
            metrics.LIVE_REJECTED.labels(refused).inc()
            status, code, message = {
                "address_full": (429, "too_many_streams", "Too many open streams from this address."),
                "process_full": (503, "streams_full", "This server holds as many streams as it may; retry."),
                "shutdown": (503, "shutting_down", "This server is stopping; reconnect."),
            }[refused]
            await send_json_error(send, status, code, message,
                                  headers={"Retry-After": str(defaults.LIVE_RETRY_AFTER_SECONDS)})
            return
        subscriber = self.hub.subscribe(board_id, period, address)  # before reading: no gap
        try:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            last_event_id = _header(scope, b"last-event-id") or query.get("last_event_id", [""])[-1]
            start, last_sent = await asyncio.to_thread(self._opening, board_id, period, last_event_id[:64],
                                                       snapshot_body)
            await send({"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS})
            if scope["method"] == "HEAD":
                await send({"type": "http.response.body", "body": b""})
                return
            await self._pump(subscriber, receive, send, start, last_sent)
        finally:
            self.hub.unsubscribe(subscriber)

    # --- the opening: a replay of what the client missed, else a snapshot ---
    def _opening(self, board_id: str, period: str, last_event_id: str,
                 snapshot_body: Callable[[], dict[str, Any]]) -> tuple[bytes, tuple[int, int]]:
        opening = b"retry: " + str(self.settings.LIVE_RETRY_MS).encode() + b"\n\n"
        stream = keys.live_events(board_id, period)
        resume = parse_id(last_event_id)
        if resume is not None:
            entries = self.redis.xrange(stream, f"({last_event_id}", "+", self.settings.LIVE_HISTORY)
            newest = self.redis.xrevrange(stream, count=1)
            newest_id = newest[0][0].decode() if newest else "0-0"
            chained = fields_prev(entries[0][1]) == last_event_id if entries else newest_id == last_event_id
            if chained:
                last = resume
                for raw_id, fields in entries:
                    opening += frame("update", raw_id.decode(), fields[b"data"])
                    last = parse_id(raw_id.decode()) or last
                metrics.LIVE_EVENTS_SENT.labels("replay").inc(len(entries))
                return opening, last
        newest = self.redis.xrevrange(stream, count=1)  # before the snapshot: later events still follow it
        newest_id = newest[0][0].decode() if newest else "0-0"
        opening += self._snapshot_frame(board_id, period, newest_id, snapshot_body)
        metrics.LIVE_EVENTS_SENT.labels("snapshot").inc()
        return opening, parse_id(newest_id) or (0, 0)

    def _snapshot_frame(self, board_id: str, period: str, newest_id: str,
                        snapshot_body: Callable[[], dict[str, Any]]) -> bytes:
        """The `snapshot` event after event `newest_id`, built once and reused by the streams that open while
        no newer event came and for at most LIVE_SNAPSHOT_REUSE_SECONDS (a crowd reconnecting after a restart
        costs one snapshot read and one encoding per board period, not one per client)."""
        key = (board_id, period)
        kept = self._snapshots.get(key)
        now = time.monotonic()
        if kept is not None and kept[0] == newest_id and now - kept[1] < defaults.LIVE_SNAPSHOT_REUSE_SECONDS:
            return kept[2]
        built = frame("snapshot", newest_id, orjson.dumps(snapshot_body()))
        self._snapshots[key] = (newest_id, now, built)  # one entry per board period that has streams
        return built

    def _snapshot_body(self, board: Board, period: Period) -> dict[str, Any]:
        now = datetime.now(UTC)
        refresh = timedelta(seconds=self.settings.REFRESH_SECONDS)
        snapshot = snapshots.load(self.redis, board.id, period)
        if snapshot is None or not snapshot.serves(period, now, refresh * defaults.SNAPSHOT_MAX_AGE_REFRESHES):
            snapshot = snapshots.build(self.redis, board, period, now, self.settings.SNAPSHOT_TOP_N, live=True)
            snapshots.save(self.redis, snapshot)
        return page_body(board, period, snapshot, 0, self.settings.LIVE_TOP_N, now=now, refresh=refresh)

    # --- the stream's life ---
    async def _pump(self, subscriber: Subscriber, receive: Receive, send: Send, opening: bytes,
                    last_sent: tuple[int, int]) -> None:
        """Write the opening, then park: while parked, the hub writes each event to this stream itself
        (live/hub.py `Subscriber.offer`: no task step per stream and event). The task wakes only to finish a send
        that had to wait for the client's socket, to write what queued up meanwhile (in one send), or to end
        the stream (slow client, lifetime, hang-up, resync, shutdown). Heartbeats, the lifetime and the send
        timeout are the hub's single watchdog timer."""
        loop = asyncio.get_running_loop()
        subscriber.task = asyncio.current_task()
        subscriber.send, subscriber.last_sent = send, last_sent
        gone = loop.create_task(_disconnected(receive))

        def hung_up(task: asyncio.Task[None]) -> None:
            if not task.cancelled():  # cancelled: the stream ended first and stopped watching
                subscriber.end("gone")

        gone.add_done_callback(hung_up)
        hub = self.hub
        try:
            if not await _write(send, subscriber, body_message(opening)):
                return
            while True:
                if subscriber.inflight is not None:
                    if not await _finish(subscriber):
                        return
                    continue
                if not subscriber.pending:
                    if subscriber.dropped:
                        return
                    waiter = subscriber.waiter = loop.create_future()
                    subscriber.parked = True
                    await waiter
                    continue
                if subscriber.dropped:  # ended: nothing more is written
                    return
                items, subscriber.pending = subscriber.pending, []
                items = [(event_id, message) for event_id, message in items
                         if event_id > subscriber.last_sent or event_id is HEARTBEAT_ID]  # not replayed by the opening
                if not items:
                    continue
                message = items[0][1] if len(items) == 1 else body_message(b"".join(m["body"] for _i, m in items))
                if not await _write(send, subscriber, message):
                    return
                updates = [event_id for event_id, _m in items if event_id is not HEARTBEAT_ID]
                if updates:
                    subscriber.last_sent = updates[-1]
                    hub.sent += len(updates)
        finally:
            subscriber.parked = False
            subscriber.task = None
            gone.cancel()
            if subscriber.dropped == "gone":
                subscriber.dropped = ""  # the client left: nothing the server ended
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _finish(subscriber: Subscriber) -> bool:
    """Finish the send the hub started that had to wait for the client's socket (as the event loop's task would
    have run it); False when the client is gone or the watchdog gave up on it (a slow client)."""
    assert subscriber.inflight is not None
    try:
        return await _guarded(subscriber, _resume(*subscriber.inflight))
    finally:
        subscriber.inflight = None


async def _resume(steps: Any, waits_on: Any) -> None:
    """Run a started send's remaining steps: wait for what it waits on, then take its next step, to its end."""
    try:
        while True:
            if waits_on is None:  # a bare yield: the send only let the loop run
                await asyncio.sleep(0)
            else:  # what the send waits on (an asyncio future, or the server's own future-like object)
                await _done(waits_on)
            try:
                waits_on = next(steps)
            except StopIteration:
                return
    except asyncio.CancelledError:
        close = getattr(steps, "close", None)
        if close is not None:
            close()
        raise


async def _done(future: Any) -> None:
    """Wait until `future` (yielded by a step of a send the hub started) is done, as the event loop's task
    would have; cancelling the wait cancels it."""
    future._asyncio_future_blocking = False  # taken over, as a task takes what a step of its coroutine yields
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_future: Any) -> None:
        if not done.done():
            done.set_result(None)

    future.add_done_callback(wake)
    try:
        await done
    except asyncio.CancelledError:
        future.cancel()
        raise


async def _write(send: Send, subscriber: Subscriber, message: dict[str, Any]) -> bool:
    """Send one body message; False when the client is gone or the watchdog gave up on it (a slow client)."""
    return await _guarded(subscriber, send(message))


async def _guarded(subscriber: Subscriber, sending: Awaitable[Any]) -> bool:
    """Await a send; False when the client is gone or the watchdog cancelled a send that took longer than
    LIVE_SEND_TIMEOUT_SECONDS (that cancel is taken back: this stream ends, the server goes on)."""
    subscriber.sending_since = subscriber.sending_since or time.monotonic()  # a started send: since it started
    try:
        await sending
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not subscriber.stalled or task is None:
            raise
        task.uncancel()
        return False
    except Exception:  # the client went away
        return False
    finally:
        subscriber.sending_since = 0.0
    subscriber.last_write = time.monotonic()
    return True


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return

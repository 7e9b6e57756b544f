"""A small Server-Sent Events client for tests: reads a stream in a thread, timestamps every event."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Event:
    kind: str
    id: str
    data: Any
    at: float  # time.monotonic() when it arrived


@dataclass
class SseClient:
    """GET `path` on 127.0.0.1:`port` over a raw socket (optionally from `source` address); `events` fills as
    they arrive; `status`/`headers` once the head is read; `closed` once the server ended the stream."""

    port: int
    path: str
    last_event_id: str = ""
    source: str = "127.0.0.1"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    closed: threading.Event = field(default_factory=threading.Event)
    head_read: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SseClient:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10, source_address=(self.source, 0))
        extra = f"Last-Event-ID: {self.last_event_id}\r\n" if self.last_event_id else ""
        self.sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{extra}\r\n"
                          .encode())
        threading.Thread(target=self._read, daemon=True).start()
        assert self.head_read.wait(10), "no response head"
        return self

    def _fill(self, buffer: bytes, done: Any) -> bytes | None:
        """`buffer` plus what arrives until `done(buffer)`; None when the server closed first."""
        while not done(buffer):
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        return buffer

    def _read(self) -> None:
        try:
            buffer = self._fill(b"", lambda b: b"\r\n\r\n" in b)
            if buffer is None:
                return
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            self.head_read.set()
            chunked = self.headers.get("transfer-encoding") == "chunked"
            text = b""
            while True:
                if chunked:
                    filled = self._fill(buffer, lambda b: b"\r\n" in b)
                    if filled is None:
                        return
                    size_line, buffer = filled.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    filled = self._fill(buffer, lambda b, size=size: len(b) >= size + 2)
                    if filled is None:
                        return
                    data, buffer = filled[:size], filled[size + 2:]
                    if size == 0:
                        return
                else:
                    data = buffer or self.sock.recv(65536)
                    buffer = b""
                    if not data:
                        return
                text += data
                self.body += data
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    self._event(block.decode())
        except OSError:
            return
        finally:
            self.head_read.set()
            self.closed.set()

    def _event(self, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            self.events.put(Event(fields.get("event", "message"), fields.get("id", ""), orjson.loads(fields["data"]),
                                  time.monotonic()))

    def next(self, timeout: float = 5.0) -> Event:
        return self.events.get(timeout=timeout)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(event):
                return event

    def close(self) -> None:
        """Hang up (shutdown first: a plain close() does not end the connection while the reader thread is in
        recv())."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()

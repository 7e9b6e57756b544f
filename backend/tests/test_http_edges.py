"""HTTP edges through a real `leaderboard serve`, on every server it runs (granian, the default, and gunicorn):
a 413 closes the connection and says so, a chunked body over the limit is a 413 (not a 400 on a cut body), a
request line over MAX_REQUEST_LINE is a 414 in the JSON error shape (issue 14, item 8)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from .helpers import serve

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_server")]

LIMIT = 4096  # MAX_CONTENT_LENGTH of the server under test


def exchange(port: int, request: bytes, body_chunks: tuple[bytes, ...] = ()) -> tuple[socket.socket, int, dict, dict]:
    """Send a request on a new connection; (socket, status, headers lower-cased, JSON body)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(request)
    for chunk in body_chunks:
        try:
            sock.sendall(chunk)
        except OSError:  # the server answered and closed before reading it all: what a 413 may do
            break
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return sock, int(lines[0].split()[1]), headers, json.loads(body)


def connection_closed(sock: socket.socket) -> bool:
    """True once the server closed its side (EOF or reset), after what it sent was read."""
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_body_limits_and_long_request_lines(tmp_path: Path) -> None:
    with serve(tmp_path, MAX_CONTENT_LENGTH=str(LIMIT)) as served:
        port = int(served.base.rsplit(":", 1)[1])
        post = b"POST /v1/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"

        too_big = b"x" * (LIMIT * 64)
        sock, status, headers, body = exchange(port, post + b"Content-Length: %d\r\n\r\n" % len(too_big), (too_big,))
        assert status == 413 and body["error"]["code"] == "payload_too_large"
        # the body was left unread: the server must not offer the connection for another request
        assert headers.get("connection", "").lower() == "close"
        assert connection_closed(sock)
        sock.close()

        payload = b'{"username": "' + b"a" * (LIMIT * 2) + b'", "password": "x"}'
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
        sock, status, headers, body = exchange(port, post + b"Transfer-Encoding: chunked\r\n\r\n", (chunked,))
        assert status == 413 and body["error"]["code"] == "payload_too_large"
        sock.close()

        small = b'{"username": "nobody", "password": "wrong-password"}'
        sock, status, _headers, _body = exchange(
            port, post + b"Transfer-Encoding: chunked\r\n\r\n", (b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small),))
        assert status == 401  # a chunked body within the limit is read whole
        sock.close()

        sock, status, headers, body = exchange(port, b"GET /v1/leaderboards?q=" + b"a" * 9000 + b" HTTP/1.1\r\n"
                                               b"Host: t\r\n\r\n")
        assert status == 414 and headers["content-type"].startswith("application/json")
        assert body["error"]["code"] == "uri_too_long"
        sock.close()

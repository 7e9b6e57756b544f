"""The development stack `leaderboard run` starts, as the terminal and the other commands see it.

- `DATA_DIR/run.json` says what is running where (pid, API, Redis, log file, children). Other subcommands
  started from the project directory read it (`attach_overrides`), so `leaderboard create-user` or
  `leaderboard produce` need no REDIS_URL, JWT_SECRET_KEY or DEV_MODE; `leaderboard status` prints it.
- `Console` is run's terminal: the banner, warnings and errors, and one status line; every line of every
  process (JSON) goes to the log file under DATA_DIR/logs instead.
- `bind_problem` checks the API's port before anything starts.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import orjson
import requests

from . import defaults
from .config import Settings
from .embedded_redis import port_free
from .logs import JsonFormatter

STATE_FILE = "run.json"
LOG_DIR = "logs"
LOG_FILE = "leaderboard.log"
_TERMINAL_LEVELS = {"warning", "error", "critical"}
_HIDDEN_FIELDS = {"ts", "level", "logger", "msg", "exc", "event", "taskName"}


# --- what is running where -------------------------------------------------------------------------


def state_path(data_dir: Path) -> Path:
    return Path(data_dir) / STATE_FILE


def write_state(data_dir: Path, state: Mapping[str, Any]) -> None:
    """Atomically (a reader never sees half a file), readable by the owner only."""
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{STATE_FILE}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(dict(state), option=orjson.OPT_INDENT_2))
    scratch.replace(path)


def clear_state(data_dir: Path) -> None:
    """Removes the state file if it is this process's."""
    state = _read_state(state_path(data_dir))
    if state is not None and state.get("pid") == os.getpid():
        state_path(data_dir).unlink(missing_ok=True)


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None


def process_alive(pid: int) -> bool:
    """A live `leaderboard` process has this pid (not a stale file whose pid was reused by something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"leaderboard" in cmdline


def running_stack(data_dir: Path) -> dict[str, Any] | None:
    """The state of the `leaderboard run` using `data_dir`, if one is alive."""
    state = _read_state(state_path(data_dir))
    return state if state is not None and process_alive(state["pid"]) else None


def find_stack(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The running dev stack of DATA_DIR; without DATA_DIR, of `./data` or the nearest parent's `data`
    (so a command run from a sub-directory of the project finds it too)."""
    if environ.get("DATA_DIR"):
        return running_stack(Path(environ["DATA_DIR"]))
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        candidate = directory / Settings.DATA_DIR
        if state_path(candidate).exists():
            return running_stack(candidate)
    return None


def attach_overrides(environ: Mapping[str, str]) -> dict[str, object]:
    """Settings that point a command at the running dev stack, unless REDIS_URL says otherwise."""
    if environ.get("REDIS_URL"):
        return {}
    stack = find_stack(environ)
    if stack is None:
        return {}
    overrides: dict[str, object] = {"REDIS_URL": stack["redis_url"], "DATA_DIR": stack["data_dir"]}
    if stack.get("dev_mode") and not environ.get("JWT_SECRET_KEY"):
        overrides["DEV_MODE"] = True  # the stack's generated secret under its DATA_DIR
    if not environ.get("BIND"):
        overrides["BIND"] = stack["bind"]
    return overrides


def api_base_url(bind: str) -> str:
    """The URL a client on this machine reaches an API bound to `bind` at."""
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def no_redis_message(settings: Settings) -> str:
    return (
        f"no running `leaderboard run` found for the data dir {settings.DATA_DIR.resolve()} and REDIS_URL is not set:"
        " start the stack with `make run` (then run this from the project directory), or set REDIS_URL"
    )


# --- the API's port ----------------------------------------------------------------------------------


def _host_port(bind: str) -> tuple[str, int] | None:
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or not host or host.startswith(("unix", "fd")):
        return None
    return host.strip("[]"), int(port)


def bind_problem(bind: str) -> str | None:
    """None when the API can listen on `bind`; else what to tell the user (which port, how to pick another)."""
    parsed = _host_port(bind)
    if parsed is None:
        return None
    host, port = parsed
    try:
        if port_free(host, port):
            return None
    except OSError as exc:
        return f"cannot listen on {bind} (BIND): {exc.strerror}"
    spare = next((p for p in range(port + 1, min(port + 100, 65536)) if port_free(host, p)), None)
    suggestion = f"BIND={host}:{spare} make run" if spare else "BIND=host:port make run"
    return (
        f"port {port} on {host} is already in use (BIND={bind}), so nothing was started. Stop what holds it "
        f"(another `leaderboard run`? `leaderboard status` tells) or pick another port: {suggestion}"
    )


# --- the terminal of `leaderboard run` ---------------------------------------------------------------


def _render(source: str, line: str) -> str | None:
    """The terminal form of one log line, or None when it belongs in the log file only."""
    if not line.strip():
        return None
    if not line.startswith("{"):
        return f"[{source}] {line}"  # not ours (a traceback, a library's print): show it
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return f"[{source}] {line}"
    if not isinstance(entry, dict) or str(entry.get("level", "")).lower() not in _TERMINAL_LEVELS:
        return None
    extras = "  ".join(f"{k}={v}" for k, v in entry.items() if k not in _HIDDEN_FIELDS)
    text = f"{str(entry.get('ts', ''))[11:19]} {str(entry['level']).upper()} [{source}] {entry.get('msg', '')}"
    text += f"  ({extras[:300]})" if extras else ""
    if entry.get("exc"):
        text += "\n    " + str(entry["exc"]).replace("\n", "\n    ")
    return text


class Console:
    """Writes every line to the log file; the terminal gets only warnings, errors, foreign output, what run
    says, and one status line (redrawn in place on a terminal, so the banner stays on screen)."""

    def __init__(self, stream: IO[str], log_path: Path) -> None:
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.file = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=defaults.RUN_LOG_MAX_BYTES, backupCount=defaults.RUN_LOG_BACKUPS, encoding="utf-8"
        )
        self.file.setFormatter(logging.Formatter("%(message)s"))
        self.lock = threading.Lock()
        self.status = ""

    def record(self, source: str, line: str) -> None:
        """One line of a process's output."""
        self.file.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
        shown = _render(source, line)
        if shown is not None:
            self.say(shown)

    def say(self, text: str) -> None:
        with self.lock:
            if self.live and self.status:
                self.stream.write("\r\x1b[2K")
            self.stream.write(text + "\n")
            if self.live and self.status:
                self.stream.write(self.status)
            self.stream.flush()

    def set_status(self, text: str) -> None:
        with self.lock:
            if self.live:
                self.status = text
                self.stream.write(f"\r\x1b[2K{text}")
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        with self.lock:
            if self.live and self.status:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            self.status = ""
        self.file.close()

    def pump(self, source: str, pipe: IO[bytes]) -> threading.Thread:
        """Reads a child's output until EOF in a thread of its own."""

        def loop() -> None:
            with contextlib.suppress(ValueError, OSError):
                for raw in iter(pipe.readline, b""):
                    self.record(source, raw.decode("utf-8", "replace").rstrip("\r\n"))

        thread = threading.Thread(target=loop, name=f"run-log-{source}", daemon=True)
        thread.start()
        return thread


class ConsoleHandler(logging.Handler):
    """run's own log lines through the console (JSON to the file, warnings to the terminal)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.record("run", self.format(record))
        except Exception:  # logging must never take run down
            self.handleError(record)


def log_to_console(console: Console) -> None:
    logging.getLogger().handlers[:] = [ConsoleHandler(console)]


# --- the status line ---------------------------------------------------------------------------------


def _metric_sums(text: str) -> dict[str, float]:
    """Family name -> sum of its samples (the `_total` samples of counters)."""
    from prometheus_client.parser import text_string_to_metric_families

    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (family.name, f"{family.name}_total"):
                sums[family.name] = sums.get(family.name, 0.0) + sample.value
    return sums


class StatusSampler:
    """One compact line from the API: trades/s since the last sample, boards, live subscribers."""

    def __init__(self, base: str, metrics_token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
        self.last: tuple[float, float] | None = None

    def line(self) -> str:
        clock = time.strftime("%H:%M:%S")
        try:
            metrics = requests.get(f"{self.base}/metrics", headers=self.headers, timeout=2)
            boards = requests.get(f"{self.base}/v1/leaderboards", timeout=2)
            metrics.raise_for_status()
            boards.raise_for_status()
            sums = _metric_sums(metrics.text)
            board_count = len(boards.json()["boards"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            return f"{clock}  the API at {self.base} does not answer ({type(exc).__name__}); see the log file"
        now, accepted = time.monotonic(), sums.get("leaderboard_trades_accepted", 0.0)
        rate = 0.0 if self.last is None else (accepted - self.last[1]) / max(now - self.last[0], 1e-9)
        self.last = (now, accepted)
        text = f"{clock}  {rate:,.1f} trades/s ({accepted:,.0f} since start)  {board_count} boards"
        subscribers = [v for k, v in sums.items() if k.endswith("subscribers")]
        if subscribers:
            text += f"  {sum(subscribers):,.0f} live subscribers"
        return text


# --- `leaderboard status` ----------------------------------------------------------------------------


def _redis_answer(url: str, settings: Settings) -> str:
    from .redis_client import connect

    try:
        client = connect(settings, url)
        started = time.perf_counter()
        client.ping()
        return f"answering (PING {1000 * (time.perf_counter() - started):.1f} ms)"
    except Exception as exc:  # any failure is the answer here
        return f"NOT answering ({type(exc).__name__})"


def _api_answer(base: str) -> tuple[bool, str]:
    try:
        ready = requests.get(f"{base}/ready", timeout=3)
    except requests.RequestException as exc:
        return False, f"NOT answering ({type(exc).__name__})"
    if ready.status_code == 200:
        return True, "ready"
    try:
        reason = ready.json().get("reason") or ready.json().get("status")
    except ValueError:
        reason = ready.text[:80]
    return False, f"answering {ready.status_code}, not ready ({reason})"


def print_status(settings: Settings, stack: Mapping[str, Any] | None, echo: Any) -> int:
    """Prints what runs where; 0 when the API is ready."""
    data_dir = settings.DATA_DIR.resolve()
    if stack is None:
        echo(f"no `leaderboard run` is running on the data dir {data_dir} (start one with `make run`)")
        base, redis_url = api_base_url(settings.BIND), settings.REDIS_URL
    else:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stack["started_at"]))
        echo(f"`leaderboard run` pid {stack['pid']}, since {since}, data dir {stack['data_dir']}")
        base, redis_url = stack["api"], stack["redis_url"]
    ready, answer = _api_answer(base)
    echo(f"  dashboard  {base}/  {answer}")
    echo(f"  API docs   {base}/apidocs/")
    if redis_url:
        kind = " (embedded)" if stack is not None and stack.get("embedded_redis") else ""
        echo(f"  Redis      {redis_url}{kind}  {_redis_answer(redis_url, settings)}")
    else:
        echo("  Redis      REDIS_URL is not set")
    if stack is not None:
        processes = ", ".join(
            f"{name} {pid}" + ("" if process_alive(pid) else " (GONE)") for name, pid in stack["children"].items()
        )
        echo(f"  processes  {processes}")
        echo(f"  logs       {stack['log_file']}")
    return 0 if ready else 1

"""The import graph of backend/src: no cycles, and the domain packages reach no web framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# the domain: usable from any server or process, so no web framework may load with it; the ASGI push tier
# (live/stream.py and competitions/live.py, the SSE endpoints) too: its workers must not load Flask for a stream
# (live/asgi.py, the router that hands the rest to Flask, is the edge that does)
DOMAIN = ("leaderboard.ranking", "leaderboard.ingest", "leaderboard.jobs", "leaderboard.competitions",
          "leaderboard.live.hub", "leaderboard.live.events", "leaderboard.live.ticker", "leaderboard.live.stream",
          "leaderboard.auth.users", "leaderboard.auth.passwords", "leaderboard.auth.revocations",
          "leaderboard.read_cache", "leaderboard.keys", "leaderboard.api_errors", "leaderboard.security_headers")
# the stores of auth/ are handed a Redis client and plain settings values: no web framework, no JWT library (tokens
# are issued and verified at the edge: api/tokens.py, extensions.py), no HTTP error type, no request context
AUTH_STORES = ("leaderboard.auth.users", "leaderboard.auth.passwords", "leaderboard.auth.revocations")
WEB = ("flask", "werkzeug", "flask_jwt_extended", "flask_limiter")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "leaderboard").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports, at module level or inside a function alike."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
    return {target for target in found if target in modules and target != name}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_in_backend_src():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "leaderboard.api.health" in graph["leaderboard"]  # the graph sees imports inside functions too
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _loaded_by_importing(names: list[str]) -> list[str]:
    """The modules of WEB and of ours (leaderboard.*) that importing `names` in a fresh interpreter loads."""
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            "print('\\n'.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return [m for m in result.stdout.split() if m.split(".")[0] in (*WEB, "leaderboard")]


def test_domain_packages_import_no_web_framework():
    """Importing every module of the domain and the push tier (DOMAIN) loads neither Flask nor werkzeug."""
    domain = sorted(name for name in _modules() if name.startswith(DOMAIN))
    assert [m for m in _loaded_by_importing(domain) if m.split(".")[0] in WEB] == []


def test_auth_stores_load_no_web_framework_jwt_library_or_http_error():
    loaded = _loaded_by_importing(list(AUTH_STORES))
    assert set(AUTH_STORES) <= set(loaded)
    assert [m for m in loaded if m.split(".")[0] in WEB or m in ("leaderboard.api_errors", "leaderboard.context")] == []

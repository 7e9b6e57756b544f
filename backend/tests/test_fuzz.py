"""Schemathesis against the live OpenAPI document of a real `leaderboard serve` (gunicorn, 2 workers):
generated positive and negative requests for every documented operation but the two never-ending SSE streams
(endpoints added later are covered automatically), authenticated with fresh tokens (tests/fuzz_hooks.py).
`--checks all`: the spec and the behaviour agree in both directions (what the spec forbids is refused, what
it allows is accepted, every answer documented). Prints the run's counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leaderboard.auth.users import UserStore

from .fuzz_hooks import FUZZ_USER
from .helpers import TEST_SECRET, serve

pytestmark = pytest.mark.slow

BACKEND_DIR = Path(__file__).resolve().parent.parent
CONFIG = BACKEND_DIR / "tests" / "schemathesis.toml"  # examples per operation, modes, no auto-signup
MIN_REQUESTS = 1000  # the floor for one CI run
TIME_BUDGET_SECONDS = 240  # a hard stop (subprocess timeout), not a speed check
CHECKS = "all"  # every check schemathesis has: no 5xx, schemas, status codes, content types, headers,
# auth enforced, 405 for other methods, negative data rejected, positive data accepted, ... (issue 14, item 10)
NOT_FUZZED = 2  # the two SSE streams: documented, but an accepted case never ends (schemathesis.toml says more)


def test_schemathesis_finds_no_server_errors_or_schema_violations(tmp_path, redis_url, redis_client, capsys):
    UserStore(redis_client).create(FUZZ_USER.username, "fuzz-password-0123", FUZZ_USER.display_name, FUZZ_USER.role)
    # rate limits have their own tests; here they would hide the endpoints' logic behind 429s
    generous = {name: "100000 per minute" for name in (
        "LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT", "REGISTER_RATE_LIMIT", "WRITE_RATE_LIMIT")}
    with serve(tmp_path, REDIS_URL=redis_url, JWT_SECRET_KEY=TEST_SECRET, DEV_MODE="0", **generous) as served:
        report = tmp_path / "schemathesis.json"
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "FUZZ_REDIS_URL": redis_url,
               "FUZZ_JWT_SECRET": TEST_SECRET, "FUZZ_DATA_DIR": str(tmp_path / "fuzz"),
               "PYTHONPATH": str(BACKEND_DIR) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        started = time.monotonic()
        run = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "--config-file", str(CONFIG), "--no-color", "run",
             f"{served.base}/openapi.json", "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
             "--seed", "20261122", "--max-failures", "50",
             "--report", "ndjson", "--report-ndjson-path", str(report)],
            cwd=BACKEND_DIR, env=env, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS + 60,
        )
        elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    requests_made, failures = count_events(report)
    with capsys.disabled():
        print(f"\nschemathesis: {requests_made} requests, {failures} failures, "
              f"exit {run.returncode}, {elapsed:.1f} s\n{summary_lines(output)}")
    assert run.returncode == 0, output[-6000:]
    total, selected = operation_counts(report)
    assert total - selected == NOT_FUZZED, (total, selected)  # the streams' exclusion takes them and nothing else
    assert failures == 0
    assert requests_made >= MIN_REQUESTS, output[-3000:]


def count_events(report: Path) -> tuple[int, int]:
    """(HTTP requests made, failed checks) from schemathesis' ndjson event stream."""
    requests_made = failures = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        for case in scenario.get("recorder", {}).get("interactions", {}).values():
            requests_made += 1 if case.get("response") is not None else 0
        for checks in scenario.get("recorder", {}).get("checks", {}).values():
            failures += sum(1 for check in checks if str(check.get("status")).lower() == "failure")
    return requests_made, failures


def operation_counts(report: Path) -> tuple[int, int]:
    """(operations in the served document, operations the run selected) from the report's loading event."""
    for line in report.read_text().splitlines():
        loaded = json.loads(line).get("LoadingFinished")
        if loaded:
            operations = loaded["statistic"]["operations"]
            return int(operations["total"]), int(operations["selected"])
    raise AssertionError("no LoadingFinished event in the report")


def summary_lines(output: str) -> str:
    keep = [line for line in output.splitlines() if any(word in line for word in (
        "passed", "failed", "Test cases", "operations", "Summary", "Seed", "generated", "errors"))]
    return "\n".join(keep[-15:])

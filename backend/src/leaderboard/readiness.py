"""Readiness checks, in a registry of their own: whoever builds a server (`create_app`, a run loop) fills one
with the checks of the parts it runs, and its /ready runs them.

A check returns a dict with at least {"ok": bool} (and a "reason" when not ok); any check not ok makes the
process not ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ReadyCheck = Callable[[], dict[str, Any]]


class ReadyChecks:
    def __init__(self) -> None:
        self._checks: dict[str, ReadyCheck] = {}

    def add(self, name: str, check: ReadyCheck) -> None:
        self._checks[name] = check

    def run(self) -> dict[str, Any]:
        """{"status": "ok"|"unavailable", "checks": {name: result}}, plus "reason" naming what is not ok."""
        checks = {name: check() for name, check in self._checks.items()}
        failing = [name for name, result in checks.items() if not result.get("ok")]
        report: dict[str, Any] = {"status": "unavailable" if failing else "ok", "checks": checks}
        if failing:
            report["reason"] = "; ".join(f"{name}: {checks[name].get('reason', 'not ok')}" for name in failing)
        return report

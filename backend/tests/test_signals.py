"""The one stop-on-signal helper every process uses: a first SIGTERM finishes the work in hand, a second exits
now (real signals to a real child process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

CHILD = """
import sys, time
from leaderboard.signals import stop_on_signals
stopping = stop_on_signals("test")
print("ready", flush=True)
while not stopping():
    time.sleep(0.01)
print("finishing", flush=True)
time.sleep(float(sys.argv[1]))  # the work in hand
print("done", flush=True)
"""


def _start(work_seconds: float) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(work_seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


def test_first_signal_finishes_the_work_in_hand():
    child = _start(0.2)
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    assert out == "finishing\ndone\n"


def test_second_signal_exits_now():
    child = _start(30)
    child.send_signal(signal.SIGTERM)
    assert child.stdout is not None and child.stdout.readline() == "finishing\n"
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=10)
    assert child.returncode == 128 + signal.SIGINT
    assert out == ""  # never finished the 30 s of work
    assert time.monotonic() - started < 10

"""The one stop-on-signal helper every process uses: a first SIGTERM finishes the work in hand, a second exits
now (real signals to a real child process)."""

from __future__ import annotations

import os
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


FORKING_MASTER = """
import os, signal, sys
from leaderboard.signals import release_stop_signals, stop_signals_held

def worker():  # it still starts: a stop signal now would take the default action (death)
    print(os.getpid(), flush=True)
    sys.stdin.readline()  # the test sent SIGTERM meanwhile
    heard = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: heard.append(signum))
    release_stop_signals()
    print("heard" if heard == [signal.SIGTERM] else f"heard {heard}", flush=True)
    os._exit(0)

with stop_signals_held():  # as the servers' masters spawn a worker (the worker never leaves the block)
    pid = os.fork()
    if pid == 0:
        worker()
os.waitpid(pid, 0)
print("master", "held" if signal.pthread_sigmask(signal.SIG_BLOCK, []) else "free", flush=True)
"""


def test_a_worker_forked_with_stop_signals_held_hears_a_start_up_sigterm_once_its_handler_is_in():
    master = subprocess.Popen([sys.executable, "-c", FORKING_MASTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert master.stdin is not None and master.stdout is not None
    worker = int(master.stdout.readline())
    os.kill(worker, signal.SIGTERM)
    master.stdin.write("go on\n")
    master.stdin.flush()
    out, _ = master.communicate(timeout=30)
    assert out == "heard\nmaster free\n"  # and the master's own mask is back as it was

"""Group commit of the native write path: the requests an event loop has waiting share one round trip to Redis
and one wait for the WAL.

The ASGI router's native `POST /v1/trades` (api/native_trades.py) must not block its event loop on Redis (the
trade id claim) or on the disk (the WAL's fsync under WAL_FSYNC=always): live streams are served on the same
loop. So a request hands its validated writes to this process's `GroupCommit` and awaits a future; one thread
takes every request waiting at that moment, claims all their ids in one pipelined round trip
(`WriteClaims.claim_many`, the same script and rules as the Flask view's `claim`), appends the accepted ones to
the WAL with one wait for durability (`IngestRuntime.submit_many`), and settles the futures. The more requests
arrive while a round trip is under way, the more the next one carries.

A request's future says True (accepted: answer 202) or False: anything else (a conflicting id, a full buffer,
a stopped write path, an unexpected error) is left to the Flask view, which runs the same steps again and
answers with the error it renders; markers this round claimed for a request that is not accepted are released
first, so the view finds the state it would have found. Redis slow or down is not a refusal: the claim is
skipped as the view skips it (claims.py) and the writes are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from .claims import Claimed, WriteClaims, WriteConflict
from .runtime import IngestRuntime
from .writes import Write

log = logging.getLogger(__name__)

Resolve = Callable[[], tuple[WriteClaims, IngestRuntime]]  # the claims and runtime of the app (may raise)
_Waiting = tuple[Sequence[Write], bool, "asyncio.Future[bool]", asyncio.AbstractEventLoop]


class GroupCommit:
    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._waiting: deque[_Waiting] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.rounds = 0  # round trips made (tests, curiosity: requests / rounds = the group size)
        self.requests = 0

    def accept(self, writes: Sequence[Write], claim: bool = True) -> asyncio.Future[bool]:
        """On the event loop: a future that says whether `writes` were durably accepted (see the docstring).
        `claim=False` for writes whose view does not claim their ids (scores: their id is derived from the
        content, so a reuse is a retry)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._wake:
            self._waiting.append((writes, claim, future, loop))
            if self._thread is None or not self._thread.is_alive():  # first use in this process (or forked)
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._wake.notify()
        return future

    def close(self) -> None:
        """End the thread once the requests waiting are settled (later requests start a new one)."""
        with self._wake:
            thread, self._closed = self._thread, True
            self._wake.notify()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._closed:
                    self._wake.wait()
                if not self._waiting:
                    self._closed = False
                    self._thread = None
                    return
                group = list(self._waiting)
                self._waiting.clear()
            try:
                accepted = self.commit([writes for writes, _claim, _future, _loop in group],
                                       [claim for _writes, claim, _future, _loop in group])
            except Exception:
                log.exception("group commit failed; the requests go to the view",
                              extra={"event": "group_commit_failed", "requests": len(group)})
                accepted = [False] * len(group)
            self.rounds += 1
            self.requests += len(group)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool]]] = {}
            for (_writes, _claim, future, loop), result in zip(group, accepted, strict=True):
                by_loop.setdefault(loop, []).append((future, result))
            for loop, settled in by_loop.items():
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, settled)

    def commit(self, requests: Sequence[Sequence[Write]], claim: Sequence[bool] | None = None) -> list[bool]:
        """Claim (where `claim` says so: all by default) and durably accept each request's writes; True for each
        request accepted."""
        claims, runtime = self._resolve()
        claiming = [n for n in range(len(requests)) if claim is None or claim[n]]
        outcomes: list[Claimed | WriteConflict | None] = [None] * len(requests)
        for n, outcome in zip(claiming, claims.claim_many([requests[n] for n in claiming]), strict=True):
            outcomes[n] = outcome
        ready = [number for number, outcome in enumerate(outcomes) if not isinstance(outcome, WriteConflict)]
        accepted = [False] * len(requests)
        try:
            refusals = runtime.submit_many([requests[number] for number in ready])
        except Exception:
            for number in ready:
                claims.release(outcomes[number])  # type: ignore[arg-type]
            raise
        for number, refusal in zip(ready, refusals, strict=True):
            if refusal is None:
                accepted[number] = True
            else:
                claims.release(outcomes[number])  # type: ignore[arg-type]
        return accepted


def _settle(settled: list[tuple[asyncio.Future[bool], bool]]) -> None:
    for future, result in settled:
        if not future.done():  # a cancelled request (the client went away) has nobody to tell
            future.set_result(result)

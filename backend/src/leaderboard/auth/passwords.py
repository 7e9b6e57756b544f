"""Password hashing with Argon2id (argon2-cffi). Clear passwords are never stored or logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# verified against when the user does not exist, so both failures cost the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-the-same-cost")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class HashingBusy(RuntimeError):
    """No hashing slot came free in time."""


class HashGate:
    """At most `concurrency` password hashes at once in this process: an Argon2 hash is CPU by design, so
    a flood of logins (even correct ones) must not take the cores the read path needs. A caller that waits
    longer than `wait_s` for a slot gets HashingBusy (the API answers 503 with Retry-After)."""

    def __init__(self, concurrency: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait_s):
            raise HashingBusy("every password hashing slot is busy")
        try:
            yield
        finally:
            self._slots.release()

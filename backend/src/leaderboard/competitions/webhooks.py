"""Result webhooks, delivered off the scheduler's tick by their own thread (`WebhookSender`).

Finalization (finalize.py) only *schedules* a delivery: it puts the competition in the due set
`keys.webhooks_due()` (a sorted set: competition id -> the ms of its next attempt), before it stores the
frozen result. Every scheduler process runs a `WebhookSender` thread that, every WEBHOOK_POLL_SECONDS, takes
the due entries and **claims** each with one single-key script (the entry's score moves to now + lease, so a
second scheduler does not send the same attempt; a crashed sender's claim runs out and another retries). One
attempt POSTs the stored result:

    X-Leaderboard-Event: competition.finalized
    X-Leaderboard-Delivery: <competition id>
    X-Leaderboard-Timestamp: <unix seconds>
    X-Leaderboard-Signature: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, "<timestamp>.<body>")>

A 2xx acknowledges it (state `acknowledged`, out of the due set). Anything else (another status, a redirect,
which is never followed, a timeout, a refused destination) is retried after WEBHOOK_RETRY_BASE_SECONDS x
2^(attempts-1), capped at WEBHOOK_RETRY_MAX_SECONDS; the schedule lives in Redis, so it survives restarts.
An attempt is bounded as a whole by WEBHOOK_TIMEOUT_SECONDS (name resolution, connect, TLS, sending, the
response's status line and headers), so a dead or slow receiver holds only this thread, never a job.

**Destinations** (server-side request forgery): the name is resolved once per attempt, every address it
resolves to must be a public unicast address (no loopback, private, link-local, shared, multicast, reserved
or unspecified one) unless WEBHOOK_ALLOW_PRIVATE (or DEV_MODE) allows them, and the connection goes to the
address that was checked (a second resolution cannot swap it). `https` is required outside dev mode.
Receivers must treat the delivery id as idempotent (a crash between the POST and recording its answer
resends it).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from .. import defaults, keys, metrics
from ..clock import from_ms, iso
from ..config import Settings
from .errors import CompetitionError
from .model import address_allowed
from .service import CompetitionRegistry

log = logging.getLogger(__name__)

# KEYS[1] due set; ARGV: competition id, now ms, claimed-until ms -> 1 when this caller owns the attempt
CLAIM_LUA = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
_resolver = ThreadPoolExecutor(2, thread_name_prefix="webhook-dns")  # getaddrinfo has no timeout of its own


class Refused(Exception):
    """The destination is not allowed (scheme, address); the attempt made no connection."""


@dataclass(frozen=True)
class Policy:
    """Where webhooks may go: `https` only unless `allow_http`; public addresses only unless `allow_private`."""

    allow_http: bool
    allow_private: bool

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(allow_http=settings.DEV_MODE, allow_private=settings.WEBHOOK_ALLOW_PRIVATE or settings.DEV_MODE)

    def url_rules(self, settings: Settings) -> dict[str, Any]:
        """model.check_webhook_url's keywords: the same policy at creation."""
        return {"allow_http": self.allow_http, "allow_private": self.allow_private,
                "max_length": settings.WEBHOOK_URL_MAX_LENGTH}


def schedule(redis: Any, comp_id: str, now_ms: int) -> None:
    """Due now, unless already scheduled (idempotent: finalizers race)."""
    redis.zadd(keys.webhooks_due(), {comp_id: now_ms}, nx=True)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, policy: Policy,
         attempt: Attempt | None = None) -> int:
    """POST `body` to `url` within `timeout` seconds in all; the response status. Refused (no connection made)
    for a scheme or address the policy does not allow; TimeoutError past the deadline (or when `attempt` is
    cut from another thread); other OSError / http.client errors for the rest."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and policy.allow_http):
        raise Refused(f"scheme {parts.scheme!r} not allowed")
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(timeout)
    except FutureTimeout:
        raise TimeoutError("name resolution timed out") from None
    addresses = [info for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise Refused("no address")
    if not all(address_allowed(str(info[4][0]), policy.allow_private) for info in addresses):
        raise Refused("non-public address")
    family, _type, proto, _name, sockaddr = addresses[0]
    held = attempt or Attempt()
    sock = held.sock = socket.socket(family, socket.SOCK_STREAM, proto)
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), held.cut)
    watchdog.start()  # ends the attempt at the deadline, whatever the receiver trickles
    try:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.connect(sockaddr)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            sock = held.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock  # the checked address: http.client does not resolve the name again
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()  # status and headers only; redirects are not followed
        if held.was_cut:  # a cut mid-headers reads as their end: the answer is incomplete
            raise TimeoutError("attempt cut")
        return response.status
    except (OSError, http.client.HTTPException):
        if held.was_cut:
            raise TimeoutError("attempt cut") from None
        raise
    finally:
        watchdog.cancel()
        sock.close()


class Attempt:
    """One attempt's socket, which the deadline's watchdog (or a stopping sender) cuts from another thread."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.was_cut = False

    def cut(self) -> None:
        self.was_cut = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)


class WebhookSender:
    """The delivery thread of one scheduler process (run_due() is one pass, for tests)."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.policy = Policy.of(settings)
        self.registry = CompetitionRegistry(redis, settings.COMPETITION_CACHE_SECONDS)
        self._claim = redis.register_script(CLAIM_LUA)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._attempt: Attempt | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        attempt = self._attempt
        if attempt is not None:  # do not wait for a hanging receiver: the delivery stays due
            attempt.cut()
        if self._thread is not None:
            self._thread.join(self.settings.WEBHOOK_TIMEOUT_SECONDS + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.WEBHOOK_POLL_SECONDS):
            try:
                self.run_due()
            except RedisError as exc:
                metrics.REDIS_ERRORS.labels("webhooks").inc()
                log.warning("webhook pass failed", extra={"event": "webhook_pass_failed", "error": repr(exc)})
            except Exception:
                log.exception("webhook pass failed", extra={"event": "webhook_pass_failed"})

    def run_due(self) -> dict[str, str]:
        """One attempt for every due delivery this process claims; competition id -> outcome."""
        outcomes: dict[str, str] = {}
        now_ms = int(time.time() * 1000)
        lease_ms = int((self.settings.WEBHOOK_TIMEOUT_SECONDS + defaults.WEBHOOK_CLAIM_MARGIN_SECONDS) * 1000)
        due = self.redis.zrangebyscore(keys.webhooks_due(), "-inf", now_ms, start=0,
                                       num=defaults.WEBHOOK_BATCH)
        for raw in due:
            comp_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if self._stop.is_set():
                break
            if self._claim(keys=[keys.webhooks_due()], args=[comp_id, now_ms, now_ms + lease_ms]):
                outcomes[comp_id] = self.attempt(comp_id)
        return outcomes

    def _reschedule(self, comp_id: str, delay_s: float) -> None:
        self.redis.zadd(keys.webhooks_due(), {comp_id: int(time.time() * 1000 + delay_s * 1000)})

    def attempt(self, comp_id: str) -> str:
        state_key = keys.competition(comp_id, "webhook")
        try:
            comp = self.registry.get(comp_id)
        except CompetitionError:
            comp = None
        state = {k.decode(): v.decode() for k, v in self.redis.hgetall(state_key).items()}
        if comp is None or not comp.webhook_url or state.get("state") == "acknowledged":
            self.redis.zrem(keys.webhooks_due(), comp_id)
            return "nothing to send"
        body = self.redis.get(keys.competition(comp_id, "final"))
        if body is None or not self.settings.WEBHOOK_SECRET:  # scheduled just before its result is stored
            self._reschedule(comp_id, self.settings.WEBHOOK_RETRY_BASE_SECONDS)
            return "not final yet"
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Leaderboard-Event": "competition.finalized",
                   "X-Leaderboard-Delivery": comp_id, "X-Leaderboard-Timestamp": str(timestamp),
                   "X-Leaderboard-Signature": sign(self.settings.WEBHOOK_SECRET, timestamp, body)}
        attempts = int(state.get("attempts", "0")) + 1
        self._attempt = Attempt()
        kind = "failed"
        try:
            status = post(comp.webhook_url, body, headers, self.settings.WEBHOOK_TIMEOUT_SECONDS, self.policy,
                          self._attempt)
            ok, error = 200 <= status < 300, f"HTTP {status}"
        except Refused as exc:
            ok, error = False, f"refused: {exc}"
            kind = "refused"
        except (OSError, http.client.HTTPException) as exc:
            ok, error = False, "timeout" if isinstance(exc, TimeoutError) else exc.__class__.__name__
        finally:
            self._attempt = None
        if ok:
            self.redis.hset(state_key, mapping={"state": "acknowledged", "attempts": attempts,
                                                "acknowledged_at": iso(from_ms(int(time.time() * 1000)))})
            self.redis.zrem(keys.webhooks_due(), comp_id)
            outcome = kind = "acknowledged"
        else:
            delay = min(self.settings.WEBHOOK_RETRY_MAX_SECONDS,
                        self.settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
            self.redis.hset(state_key, mapping={"state": "pending", "attempts": attempts, "last_error": error})
            self._reschedule(comp_id, delay)
            outcome = f"retry in {delay:g}s ({error})"
        metrics.WEBHOOK_ATTEMPTS.labels(kind).inc()
        log.info("webhook attempt", extra={"event": "webhook_attempt", "competition": comp_id,
                                           "attempts": attempts, "outcome": outcome})
        return outcome

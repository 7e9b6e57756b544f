"""Delivers batches to `POST /v1/trades` with a service account.

- Logs in once; on a 401 refreshes the token (rotating refresh token) or logs in again, once per batch;
  a second 401 for the same batch is an auth failure.
- 429 / 503 (buffer full): waits Retry-After (or an exponential backoff) and resends the same bytes; the
  trade ids make the retry idempotent on the server.
- 4xx with a body error (422 validation_error, 413): the batch is rejected, counted, never resent.
- A missing endpoint (404/405) or a batch still failing after `max_attempts` is a ProducerError.
Keep-alive connections come from one requests.Session per sending thread.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter

from .delivery import AuthFailed, Delivery, ProducerError, interruptible_sleep

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 10.0  # one HTTP request may take this long
BACKOFF_BASE_SECONDS = 0.25  # first wait after a failure without Retry-After; doubles per attempt
BACKOFF_MAX_SECONDS = 10.0  # longest wait between two attempts without Retry-After
RETRY_AFTER_MAX_SECONDS = 60.0  # a server's Retry-After is honoured up to this
THROTTLE_STATUSES = (429, 503)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_MAX_SECONDS)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), RETRY_AFTER_MAX_SECONDS)


def backoff_seconds(attempt: int) -> float:
    return float(min(BACKOFF_BASE_SECONDS * 2**attempt, BACKOFF_MAX_SECONDS))


def _error_text(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('code', '')}: {error.get('message', '')} {error.get('details', '')}"
    except (ValueError, AttributeError):
        return f"{response.status_code} {response.text[:200]}"


class HttpTarget:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        max_attempts: int = 10,
        pool_size: int = 8,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        if not username or not password:
            raise AuthFailed(
                "no producer credentials: pass --username/--password or set PRODUCER_USERNAME/PRODUCER_PASSWORD "
                "(a service account: `leaderboard create-user --role service`)"
            )
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.max_attempts = max_attempts
        self.pool_size = pool_size
        self.stopping = stopping
        self._local = threading.local()
        self._token_lock = threading.Lock()
        self._access_token = ""
        self._refresh_token = ""

    def describe(self) -> str:
        return f"{self.base_url}/v1/trades as {self.username}"

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def _post(self, path: str, body: bytes, token: str | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.base_url}{path}"
        return self._session().post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)

    # --- tokens ---
    def start(self) -> None:
        """Logs in, once (later 401s renew the token)."""
        if not self._access_token:
            self.login()

    def login(self) -> None:
        body = orjson.dumps({"username": self.username, "password": self.password})
        for attempt in range(self.max_attempts):
            try:
                response = self._post("/v1/login", body)
            except requests.RequestException as exc:
                log.warning("login failed, retrying", extra={"event": "producer_login_retry", "error": str(exc)})
                interruptible_sleep(backoff_seconds(attempt), self.stopping)
                continue
            if response.status_code == 200:
                tokens = response.json()
                with self._token_lock:
                    self._access_token, self._refresh_token = tokens["access_token"], tokens["refresh_token"]
                return
            if response.status_code in THROTTLE_STATUSES:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                interruptible_sleep(backoff_seconds(attempt) if wait is None else wait, self.stopping)
                continue
            raise AuthFailed(f"login as {self.username!r} at {self.base_url} was refused: {_error_text(response)}")
        raise ProducerError(f"could not log in at {self.base_url} after {self.max_attempts} attempts")

    def _renew(self, rejected_token: str) -> None:
        """After a 401: refresh (or log in again), unless another thread already replaced the token."""
        with self._token_lock:
            if self._access_token != rejected_token:
                return
            refresh_token = self._refresh_token
        try:
            response = self._post("/v1/token/refresh", b"", token=refresh_token)
        except requests.RequestException:
            response = None
        if response is not None and response.status_code == 200:
            tokens = response.json()
            with self._token_lock:
                self._access_token, self._refresh_token = tokens["access_token"], tokens["refresh_token"]
            return
        self.login()

    # --- scores (the demo's game board) ---
    def _call(self, path: str, payload: dict[str, Any], expected: int) -> dict[str, Any]:
        body = orjson.dumps(payload)
        for renewed in (False, True):
            token = self._access_token
            response = self._post(path, body, token=token)
            if response.status_code == 401 and not renewed:
                self._renew(token)
                continue
            if response.status_code != expected:
                raise ProducerError(f"POST {path} answered {_error_text(response)}")
            return dict(response.json())
        raise AssertionError("unreachable")

    def post_score(self, user_id: str, score: int, board: str) -> None:
        """One score for `user_id` on a game board: an action of ours, then the score with it."""
        try:
            action = self._call("/v1/actions", {}, 201)["action_id"]
            self._call("/v1/scores", {"user_id": user_id, "score": score, "action_id": action, "board": board}, 202)
        except requests.RequestException as exc:
            raise ProducerError(f"posting a score failed: {exc.__class__.__name__}: {exc}") from None

    # --- trades ---
    def send(self, trades: list[dict[str, Any]]) -> Delivery:
        body = orjson.dumps({"trades": trades})
        renewed = False
        last_problem = ""
        for attempt in range(self.max_attempts):
            token = self._access_token
            try:
                response = self._post("/v1/trades", body, token=token)
            except requests.RequestException as exc:
                last_problem = f"{exc.__class__.__name__}: {exc}"
                interruptible_sleep(backoff_seconds(attempt), self.stopping)
                continue
            status = response.status_code
            if status == 202:
                accepted = int(response.json().get("accepted", len(trades)))
                return Delivery(accepted, len(trades) - accepted, retries=attempt)
            if status == 401:
                if renewed:
                    raise AuthFailed(f"the API refused a fresh token for {self.username!r}: {_error_text(response)}")
                self._renew(token)
                renewed = True
                continue
            if status in (404, 405):  # 405: a catch-all page route exists but no trade endpoint
                raise ProducerError(
                    f"{self.base_url}/v1/trades answered {status}: this API has no trade endpoint"
                    " (is the write path deployed?)"
                )
            if status in THROTTLE_STATUSES:
                last_problem = _error_text(response)
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                interruptible_sleep(backoff_seconds(attempt) if wait is None else wait, self.stopping)
                continue
            if status == 403:
                raise AuthFailed(
                    f"{self.username!r} may not post trades (needs a service account): {_error_text(response)}"
                )
            if 400 <= status < 500:
                return Delivery(0, len(trades), retries=attempt, reason=_error_text(response))
            last_problem = _error_text(response)  # 5xx other than 503: transient until proven otherwise
            interruptible_sleep(backoff_seconds(attempt), self.stopping)
        raise ProducerError(f"a batch still failed after {self.max_attempts} attempts: {last_problem}")

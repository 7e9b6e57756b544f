"""The dev-only service account `leaderboard run` produces with: created on demand (idempotently) in dev
mode, with a random password kept in DATA_DIR/producer-credentials (mode 0600). Never a fixed password."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

from .. import keys
from ..auth.users import UserStore
from ..config import Settings
from .delivery import ProducerError

log = logging.getLogger(__name__)

DEV_USERNAME = "producer"
CREDENTIALS_FILE = "producer-credentials"


def _read_or_create_password(path: Path) -> tuple[str, bool]:
    """(password, created_now)."""
    if path.exists():
        return orjson.loads(path.read_bytes())["password"], False
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps({"username": DEV_USERNAME, "password": password}))
    return password, True


def dev_credentials(settings: Settings, redis: Any) -> tuple[str, str]:
    """(username, password) of the dev producer account, creating what is missing."""
    if not settings.DEV_MODE:
        raise ProducerError("the dev producer account exists only in dev mode (DEV_MODE=1); pass credentials instead")
    password, created_now = _read_or_create_password(settings.DATA_DIR / CREDENTIALS_FILE)
    users = UserStore(redis)
    existing = users.get(DEV_USERNAME)
    if existing is not None and not created_now:
        return DEV_USERNAME, password
    if existing is not None:
        # the account outlived its password file (data/ partly deleted): dev mode only, so replace it
        log.warning("replacing the dev producer account", extra={"event": "producer_dev_account_replaced"})
        redis.delete(keys.user(DEV_USERNAME))
    users.create(DEV_USERNAME, password, "Mock producer", "service")
    log.info("dev producer account ready", extra={"event": "producer_dev_account", "username": DEV_USERNAME})
    return DEV_USERNAME, password

"""The dev-only producer account: created once with a random password kept 0600 under DATA_DIR."""

from __future__ import annotations

import stat

import pytest

from leaderboard.auth.users import UserStore
from leaderboard.config import load_settings
from leaderboard.producer.delivery import ProducerError
from leaderboard.producer.dev_account import CREDENTIALS_FILE, dev_credentials

from .helpers import TEST_SECRET


def settings(tmp_path, dev_mode: bool):
    return load_settings({"DEV_MODE": dev_mode, "DATA_DIR": tmp_path, "JWT_SECRET_KEY": TEST_SECRET}, environ={})


def test_dev_account_is_created_once_with_a_private_random_password(redis_client, tmp_path):
    username, password = dev_credentials(settings(tmp_path, True), redis_client)
    path = tmp_path / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = UserStore(redis_client)
    user = store.authenticate(username, password)
    assert user is not None and user.role == "service"
    assert dev_credentials(settings(tmp_path, True), redis_client) == (username, password)  # idempotent

    other_dir = tmp_path / "other"  # another checkout: its own random password
    _, other_password = dev_credentials(settings(other_dir, True), redis_client)
    assert other_password != password
    assert store.authenticate(username, other_password) is not None


def test_no_dev_account_outside_dev_mode(redis_client, tmp_path):
    with pytest.raises(ProducerError, match="dev mode"):
        dev_credentials(settings(tmp_path, False), redis_client)
    assert not (tmp_path / CREDENTIALS_FILE).exists()
    assert UserStore(redis_client).get("producer") is None

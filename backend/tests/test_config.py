from __future__ import annotations

import pytest

from leaderboard.config import ConfigError, load_settings


def test_missing_jwt_secret_outside_dev_mode_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        load_settings(environ={"DATA_DIR": str(tmp_path)})


def test_dev_mode_generates_one_secret_per_data_dir(tmp_path):
    first = load_settings(environ={"DEV_MODE": "1", "DATA_DIR": str(tmp_path)})
    second = load_settings(environ={"DEV_MODE": "true", "DATA_DIR": str(tmp_path)})
    assert first.JWT_SECRET_KEY == second.JWT_SECRET_KEY and len(first.JWT_SECRET_KEY) >= 32
    assert (tmp_path / "dev-jwt-secret").stat().st_mode & 0o077 == 0
    other = load_settings(environ={"DEV_MODE": "1", "DATA_DIR": str(tmp_path / "other")})
    assert other.JWT_SECRET_KEY != first.JWT_SECRET_KEY


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_BATCH", "lots", "MAX_BATCH must be int"),
        ("MAX_BATCH", "0", "MAX_BATCH must be > 0"),
        ("DEV_MODE", "maybe", "DEV_MODE must be a boolean"),
        ("WAL_FSYNC", "sometimes", "WAL_FSYNC must be one of"),
        ("JWT_SECRET_KEY", "short", "at least 32"),
        ("MAX_SCORE", str(2**53), "below 2\\^53"),
    ],
)
def test_bad_values_are_named(name, value, message):
    environ = {"JWT_SECRET_KEY": "k" * 40, name: value}
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_environment_values_are_typed():
    settings = load_settings(environ={"JWT_SECRET_KEY": "k" * 40, "MAX_BATCH": "50", "CORS_ORIGINS": "a, b"})
    assert settings.MAX_BATCH == 50
    assert settings.CORS_ORIGINS == ("a", "b")

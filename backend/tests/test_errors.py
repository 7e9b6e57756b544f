"""Every error, ours or Flask's, is the one JSON shape with the right status."""

from __future__ import annotations

import pytest

from .helpers import assert_error


def test_malformed_json_is_400(client):
    response = client.post("/v1/login", data=b'{"username": "a",', content_type="application/json")
    assert_error(response, 400, "bad_json")


def test_wrong_content_type_is_415(client):
    response = client.post("/v1/login", data="username=a&password=b", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_body_that_is_not_an_object_is_422(client):
    assert_error(client.post("/v1/login", json=["alice", "pw"]), 422, "validation_error")


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "MAX_CONTENT_LENGTH": 1024}


def test_oversized_body_is_413(client, redis_client):
    response = client.post("/v1/auth/register", json={"username": "big", "password": "x" * 5000})
    assert_error(response, 413, "payload_too_large")
    assert redis_client.keys("lb:user:*") == []


def test_unknown_route_is_404_json(client):
    assert_error(client.get("/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/api/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_json(client):
    response = client.delete("/v1/login")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    # GET too: the dashboard's catch-all must not claim API paths
    response = client.get("/v1/logout")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" not in response.headers["Allow"]
    assert "GET" not in client.options("/v1/login").headers["Allow"]


def test_unexpected_errors_are_500_without_a_stack_trace(app):
    @app.get("/v1/_boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/v1/_boom")
    assert_error(response, 500, "internal_error")
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_openapi_document_declares_every_route_and_the_auth_scheme(client, app):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {path for path in spec["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/") and not rule.rule.startswith("/v1/_"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            path = path.replace("{path:", "{").replace("{int:", "{")
            assert path in documented, f"{rule.rule} is not in the OpenAPI document"
    assert client.get("/apidocs/").status_code == 200


def test_a_process_that_takes_no_writes_says_when_to_retry(app_config):
    """INGEST_ENABLED off: 503 ingest_disabled with Retry-After = RETRY_AFTER_SECONDS, mapped without Flask
    (api_errors.as_api_error, which the push tier uses too)."""
    from leaderboard.api_errors import as_api_error
    from leaderboard.config import load_settings
    from leaderboard.ingest.errors import IngestDisabled
    from leaderboard.ingest.runtime import runtime_for

    with pytest.raises(IngestDisabled) as refused:
        runtime_for(load_settings({**app_config, "INGEST_ENABLED": False, "RETRY_AFTER_SECONDS": 7}))
    error = as_api_error(refused.value)
    assert error is not None
    assert (error.status, error.code, error.headers) == (503, "ingest_disabled", {"Retry-After": "7"})

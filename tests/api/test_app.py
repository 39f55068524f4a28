"""What every /api route shares: size limits, JSON errors, 404 and 405, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.api_client import ApiClient, api_settings, client_for

from controller import runner
from controller.api import openapi_text
from controller.api.flows import FlowsApi

LIMIT = 4096


@pytest.fixture
def small_limit(tmp_path: Path, flows_dir: Path) -> Iterator[ApiClient]:
    built = runner.build(api_settings(tmp_path, flows_dir, api_max_body=LIMIT))
    built.start()
    yield client_for(built)
    built.stop(drain_seconds=5)


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    body = b'{"graph": {}, "pad": ""}'
    return body[:-2] + b"x" * (size - len(body)) + b'"}'


@pytest.mark.parametrize("path", ["/api/flows", "/api/flows/validate", "/api/calls"])
def test_bodies_over_the_limit_get_413(small_limit: ApiClient, path: str) -> None:
    assert len(padded(LIMIT)) == LIMIT
    assert small_limit.request("POST", path, raw=padded(LIMIT)).status != 413
    response = small_limit.request("POST", path, raw=padded(LIMIT + 1))
    assert response.status == 413
    assert response.json()["limit"] == LIMIT
    assert "api_max_body" in response.json()["error"]


def test_a_chunked_body_over_the_limit_gets_413_too(small_limit: ApiClient) -> None:
    chunks = [b"[" + b"0," * 1000] * 5 + [b"0]"]
    response = small_limit.request("POST", "/api/flows/validate", raw=iter(chunks))
    assert response.status == 413
    small = small_limit.request("POST", "/api/flows/validate", raw=iter([b"[1,", b"2]"]))
    assert small.status == 200


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "no body"),
        (b"{", "invalid JSON"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"[" * 100 + b"]" * 100, "nested deeper"),
        (b'{"n": NaN}', "not a JSON number"),
        (b'{"n": 1e999}', "out of range"),
        (b'{"s": "\\ud800"}', "surrogate"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "too many digits"),
    ],
)
def test_bad_json_is_a_400_that_says_why(api: ApiClient, raw: bytes, says: str) -> None:
    for path in ("/api/flows", "/api/flows/validate", "/api/calls"):
        response = api.request("POST", path, raw=raw)
        assert response.status == 400, (path, response.body)
        assert says in response.json()["error"]


def test_unknown_paths_are_404_and_wrong_methods_405_with_allow(api: ApiClient) -> None:
    for path in ("/api", "/api/", "/api/nothing", "/api/flows/", "/api/flows/a/b"):
        response = api.get(path)
        assert response.status == 404, path
        assert "error" in response.json()
    cases = {
        ("DELETE", "/api/flows"): "GET, POST",
        ("PATCH", "/api/flows/payment-reminder"): "DELETE, GET, PUT",
        ("GET", "/api/flows/validate"): "POST",
        ("PUT", "/api/calls"): "POST",
        ("POST", "/api/openapi.yaml"): "GET",
    }
    for (method, path), allowed in cases.items():
        response = api.request(method, path)
        assert response.status == 405, (method, path)
        assert response.headers["allow"] == allowed
        assert "error" in response.json()


def test_a_bug_is_a_json_500_and_logged_never_a_traceback(
    tmp_path: Path,
    flows_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: FlowsApi, request: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(FlowsApi, "list", broken)  # before the routes are made at start
    built = runner.build(api_settings(tmp_path, flows_dir))
    built.start()
    try:
        response = client_for(built).get("/api/flows")
    finally:
        built.stop(drain_seconds=5)
    assert response.status == 500
    assert response.json() == {"error": "internal error; the controller's log has it"}
    assert b"secret" not in response.body and b"Traceback" not in response.body
    assert "secret detail" in caplog.text


def test_the_openapi_document_is_served_without_a_key(api: ApiClient) -> None:
    anonymous = api.with_key(None)
    as_yaml = anonymous.get("/api/openapi.yaml")
    assert as_yaml.status == 200
    assert as_yaml.headers["content-type"] == "application/yaml"
    assert as_yaml.body.decode() == openapi_text()
    as_json = anonymous.get("/api/openapi.json").json()
    assert as_json == yaml.safe_load(openapi_text())
    assert as_json["openapi"].startswith("3.1")
    assert as_json["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": as_json["components"]["securitySchemes"]["apiKey"]["description"],
    }
    json.dumps(as_json)

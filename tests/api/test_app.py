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
from controller.reload import SettingsSource, reload_settings

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


def test_sighup_changes_the_keys_and_the_body_limit_of_a_running_api(
    tmp_path: Path, flows_dir: Path
) -> None:
    """The config file edited and read again as SIGHUP does (`reload_settings`): the old key
    is refused from then on and the new one let in, without a restart."""
    config = tmp_path / "callflow.yaml"
    settings = {
        "flows": str(flows_dir),
        "records": str(tmp_path / "calls.jsonl"),
        "recordings": str(tmp_path / "recordings"),
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "esl": "",
        "api_keys": ["old-key-0123456789"],
    }
    config.write_text(yaml.safe_dump(settings))
    source = SettingsSource(config_file=config)
    built = runner.build(source.load())
    built.start()
    try:
        old, new = client_for(built, "old-key-0123456789"), client_for(built, "new-key-9876543210")
        assert (old.get("/api/flows").status, new.get("/api/flows").status) == (200, 401)
        assert old.request("POST", "/api/flows/validate", raw=padded(LIMIT + 1)).status == 200

        keys = ["new-key-9876543210"]
        config.write_text(yaml.safe_dump({**settings, "api_keys": keys, "api_max_body": LIMIT}))
        result = reload_settings(built, source)
        assert sorted(result.applied) == ["api_keys", "api_max_body"]
        assert result.needs_restart == []
        assert old.get("/api/flows").status == 401
        assert new.get("/api/flows").status == 200
        assert new.request("POST", "/api/flows/validate", raw=padded(LIMIT + 1)).status == 413
        assert built.settings.api_keys == ("new-key-9876543210",)

        config.write_text(yaml.safe_dump({**settings, "api_keys": []}))  # keys removed: closed
        reload_settings(built, source)
        assert new.get("/api/flows").status == 503
    finally:
        built.stop(drain_seconds=5)

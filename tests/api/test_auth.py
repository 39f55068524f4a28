"""x-api-key on every /api route: keys from the settings, compared in constant time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api_client import KEY, ApiClient, api_settings, client_for

from controller import runner
from controller.api import auth
from controller.config import load_settings

ROUTES = [
    ("GET", "/api/flows"),
    ("POST", "/api/flows"),
    ("POST", "/api/flows/validate"),
    ("GET", "/api/flows/payment-reminder"),
    ("PUT", "/api/flows/payment-reminder"),
    ("DELETE", "/api/flows/payment-reminder"),
    ("POST", "/api/calls"),
    ("GET", "/api/calls/some-call"),
    ("GET", "/api/no-such-route"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "", "wrong", KEY + "x", KEY[:-1]])
def test_every_route_refuses_a_missing_or_wrong_key(
    api: ApiClient, flows_dir: Path, method: str, path: str, key: str | None
) -> None:
    before = (flows_dir / "payment-reminder.yaml").read_bytes()
    response = api.with_key(key).request(method, path, {"name": "x"})
    assert response.status == 401
    assert "x-api-key" in response.json()["error"]
    assert (flows_dir / "payment-reminder.yaml").read_bytes() == before


def test_the_right_key_is_let_in(api: ApiClient) -> None:
    assert api.get("/api/flows").status == 200


@pytest.fixture
def three_keys(tmp_path: Path, flows_dir: Path) -> Iterator[runner.Controller]:
    settings = api_settings(tmp_path, flows_dir, api_keys=("first-key", "second-key", "third"))
    built = runner.build(settings)
    built.start()
    yield built
    built.stop(drain_seconds=5)


def test_every_configured_key_is_compared_in_constant_time(
    three_keys: runner.Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(auth.hmac, "compare_digest", compare_digest)
    api = client_for(three_keys, key="second-key")
    assert api.get("/api/flows").status == 200
    # All three keys, not stopping at the match; fixed-length digests, so no length leaks.
    assert len(compared) == 3
    assert {len(a) for pair in compared for a in pair} == {32}
    compared.clear()
    assert api.with_key("nope").get("/api/flows").status == 401
    assert len(compared) == 3


def test_without_keys_the_api_is_closed_and_says_how_to_open_it(
    tmp_path: Path, flows_dir: Path
) -> None:
    built = runner.build(api_settings(tmp_path, flows_dir, api_keys=()))
    built.start()
    try:
        api = client_for(built)
        for method, path in ROUTES:
            response = api.request(method, path, {})
            assert response.status == 503
            assert "CALLFLOW_API_KEYS" in response.json()["error"]
        # The rest of the HTTP side is not affected, and needs no key.
        assert api.with_key(None).get("/healthz").status == 200
        assert api.with_key(None).get("/api/openapi.yaml").status == 200
    finally:
        built.stop(drain_seconds=5)


def test_keys_come_from_the_environment_comma_separated_or_the_config_file(
    tmp_path: Path,
) -> None:
    env = {"CALLFLOW_API_KEYS": " k1, k2 ,,k3 "}
    assert load_settings(environ=env).api_keys == ("k1", "k2", "k3")
    config = tmp_path / "callflow.yaml"
    config.write_text("api_keys: [alpha, beta]\napi_max_body: 2048\n")
    settings = load_settings(config_file=config, environ={})
    assert settings.api_keys == ("alpha", "beta")
    assert settings.api_max_body == 2048
    assert load_settings(environ={}).api_keys == ()  # never open by default
    assert "alpha" not in repr(settings)  # settings may be logged; keys must not be


def test_health_and_metrics_stay_open(api: ApiClient) -> None:
    anonymous = api.with_key(None)
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/metrics").status == 200
    assert anonymous.request("POST", "/metrics").status == 405

"""Fixtures shared by test folders: a served copy of the flows, a running harness (the
controller's call server and the simulator), and a controller started as `callflow run` does
with its API. A folder's conftest.py imports them by name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller import runner
from support.api_client import ApiClient, api_settings, client_for
from support.harness import INTEGRATION_FLOWS, REPO, Harness, build_harness, close_harness


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A copy of the example flows plus the integration flows, editable per test."""
    target = tmp_path / "flows"
    shutil.copytree(REPO / "flows", target)
    for path in INTEGRATION_FLOWS.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


@pytest.fixture
def harness(tmp_path: Path, flows_dir: Path) -> Iterator[Harness]:
    built = build_harness(tmp_path, flows_dir)
    try:
        yield built
    finally:
        close_harness(built)


@pytest.fixture
def controller(tmp_path: Path, flows_dir: Path) -> Iterator[runner.Controller]:
    """A controller built and started as `callflow run` does, on free ports."""
    built = runner.build(api_settings(tmp_path, flows_dir))
    built.start()
    try:
        yield built
    finally:
        built.stop(drain_seconds=5)


@pytest.fixture
def api(controller: runner.Controller) -> ApiClient:
    return client_for(controller)

"""A controller started as `callflow run` does (runner.build), on free ports, with its API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api_client import REPO, ApiClient, api_settings, client_for

from controller import runner


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A copy of the repository's flows, for the API to change."""
    target = tmp_path / "flows"
    shutil.copytree(REPO / "flows", target)
    return target


@pytest.fixture
def controller(tmp_path: Path, flows_dir: Path) -> Iterator[runner.Controller]:
    built = runner.build(api_settings(tmp_path, flows_dir))
    built.start()
    try:
        yield built
    finally:
        built.stop(drain_seconds=5)


@pytest.fixture
def api(controller: runner.Controller) -> ApiClient:
    return client_for(controller)

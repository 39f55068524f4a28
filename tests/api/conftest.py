"""A controller started as `callflow run` does (runner.build), on free ports, with its API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.api_client import REPO
from support.fixtures import api, controller

__all__ = ["api", "controller", "flows_dir"]


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A copy of the repository's flows, for the API to change."""
    target = tmp_path / "flows"
    shutil.copytree(REPO / "flows", target)
    return target

"""Fixtures shared by test folders that run calls: a served copy of the flows and a running
harness. A folder's conftest.py imports them by name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

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

"""Scenario files written next to a copy of the example flows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

WriteScenarios = Callable[[str, str], Path]


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    target.mkdir()
    for path in (REPO / "flows").glob("*.yaml"):
        if not path.name.endswith(".test.yaml"):
            shutil.copy(path, target / path.name)
    return target


@pytest.fixture
def write_scenarios(flows_copy: Path) -> WriteScenarios:
    """write_scenarios("payment-reminder", text) -> flows/payment-reminder.test.yaml."""

    def write(flow_id: str, text: str) -> Path:
        path = flows_copy / f"{flow_id}.test.yaml"
        path.write_text(text)
        return path

    return write

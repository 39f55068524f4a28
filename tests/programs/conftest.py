"""Fixtures for programs: a store of each implementation, a spec, contacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.programs.model import ProgramSpec, parse_spec
from controller.programs.sqlite_store import SQLiteStore
from controller.programs.store import ProgramStore

# A PostgreSQL store joins here as another param; every store test then runs against both.
STORES = ["sqlite"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProgramStore]:
    built = SQLiteStore(tmp_path / "programs" / "callflow.db")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def spec() -> ProgramSpec:
    return parse_spec(
        {
            "name": "Reminders",
            "flow": "payment-reminder",
            "timezone": "UTC",
            "defaultCountry": "MA",
            "retries": {"busy": {"after": "10m", "times": 2}},
            "maxAttempts": 3,
        }
    )

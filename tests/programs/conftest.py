"""Fixtures for programs: a store of each implementation, a spec, contacts.

Every test taking `store` (or `open_store`) runs once per implementation in STORES: SQLite
in a temporary file, and PostgreSQL in a fresh schema of the session's throwaway cluster
(`postgres_url` in tests/conftest.py: skipped where PostgreSQL is not installed, failed
instead under CALLFLOW_REQUIRE_POSTGRES=1, as in CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.programs.database import ProgramsTarget
from controller.programs.database import open_store as open_target
from controller.programs.model import ProgramSpec, parse_spec
from controller.programs.store import ProgramStore
from controller.simulator import Simulator

STORES = ["sqlite", "postgres"]


@pytest.fixture(params=STORES)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> ProgramsTarget:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return tmp_path / "programs" / "callflow.db"


@pytest.fixture
def open_store(store_target: ProgramsTarget) -> Iterator[Callable[[], ProgramStore]]:
    """Opens another store on the same database (another process's view), closed after."""
    opened: list[ProgramStore] = []

    def open_another() -> ProgramStore:
        opened.append(open_target(store_target))
        return opened[-1]

    try:
        yield open_another
    finally:
        for built in reversed(opened):
            built.close()


@pytest.fixture
def store(open_store: Callable[[], ProgramStore]) -> ProgramStore:
    return open_store()


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


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A simulator on the real clock (rings take real time), for controller subprocesses."""
    sim = Simulator(controller=("127.0.0.1", 9), clock="real")
    try:
        yield sim
    finally:
        sim.close()

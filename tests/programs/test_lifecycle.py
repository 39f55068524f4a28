"""Create, import, start, pause, resume, cancel: each idempotent; flows pinned; restarts."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from support.programs import FakeClock, FakeMonotonic, contact

from controller.programs import lifecycle
from controller.programs.importer import ImportReport
from controller.programs.manager import ProgramManager
from controller.programs.model import ProgramSpec
from controller.programs.runner import POLL_SECONDS
from controller.programs.sqlite_store import SQLiteStore
from controller.programs.store import ProgramStore, StoreError

VERSIONS = {"payment-reminder": "v1"}


def current(flow_id: str) -> str | None:
    return VERSIONS.get(flow_id)


def report(*phones: str) -> ImportReport:
    return ImportReport("t", contacts=[contact(p) for p in phones])


def test_every_step_twice_changes_nothing_the_second_time(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    created = lifecycle.create(store, "p1", spec, now=1)
    assert lifecycle.create(store, "p1", spec, now=2) == created
    lifecycle.import_contacts(store, "p1", report("+212600000001"), now=3)
    again = lifecycle.import_contacts(store, "p1", report("+212600000001"), now=3)
    assert (again.inserted, again.updated) == (0, 1)
    started = lifecycle.start(store, "p1", current, now=4)
    assert (started.state, started.flow_version) == ("running", "v1")
    assert lifecycle.start(store, "p1", current, now=5) == started
    paused = lifecycle.pause(store, "p1", now=6)
    assert lifecycle.pause(store, "p1", now=7) == paused
    resumed = lifecycle.resume(store, "p1", current, now=8)
    assert resumed.state == "running"
    assert lifecycle.resume(store, "p1", current, now=9) == resumed
    cancelled = lifecycle.cancel(store, "p1", now=10)
    assert lifecycle.cancel(store, "p1", now=11) == cancelled
    assert store.contacts("p1")[0].disposition == "cancelled"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["pause"], "is created; cannot become paused"),
        (["resume"], "has not started; use start"),
        (["cancel", "start"], "is cancelled; cannot become running"),
        (["cancel", "import"], "is cancelled; create another program"),
    ],
)
def test_steps_out_of_order_are_refused(
    store: ProgramStore, spec: ProgramSpec, steps: list[str], message: str
) -> None:
    lifecycle.create(store, "p1", spec, now=1)
    actions: dict[str, Any] = {
        "pause": lambda: lifecycle.pause(store, "p1", now=2),
        "resume": lambda: lifecycle.resume(store, "p1", current, now=2),
        "cancel": lambda: lifecycle.cancel(store, "p1", now=2),
        "start": lambda: lifecycle.start(store, "p1", current, now=2),
        "import": lambda: lifecycle.import_contacts(store, "p1", report("+212600000001"), now=2),
    }
    for step in steps[:-1]:
        actions[step]()
    with pytest.raises(StoreError, match=message):
        actions[steps[-1]]()


def test_a_bad_program_id_or_a_flow_that_is_not_served(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    with pytest.raises(ValueError, match="program id 'a b'"):
        lifecycle.create(store, "a b", spec, now=1)
    lifecycle.create(store, "p1", spec, now=1)
    with pytest.raises(StoreError, match="has no valid version"):
        lifecycle.start(store, "p1", lambda _flow: None, now=2)
    assert store.get_program("p1").state == "created"


def test_moving_to_a_new_flow_version_is_explicit(store: ProgramStore, spec: ProgramSpec) -> None:
    lifecycle.create(store, "p1", spec, now=1)
    lifecycle.start(store, "p1", current, now=2)
    newer = {"payment-reminder": "v2"}.get
    assert lifecycle.start(store, "p1", newer, now=3).flow_version == "v1"
    assert lifecycle.resume(store, "p1", newer, now=4).flow_version == "v1"
    moved = lifecycle.resume(store, "p1", newer, now=5, use_current_flow=True)
    assert (moved.state, moved.flow_version) == ("running", "v2")


class Flows:
    """Serves exactly the versions given."""

    def __init__(self, versions: set[str]) -> None:
        self.versions = versions

    def get_version(self, flow_id: str, version: str) -> Any:
        if version not in self.versions:
            return None
        return SimpleNamespace(id=flow_id, version=version, nodes=MappingProxyType({}))


def test_a_runner_pauses_its_program_when_the_pinned_version_is_gone(
    tmp_path: Path, spec: ProgramSpec
) -> None:
    store = SQLiteStore(tmp_path / "p.db")
    lifecycle.create(store, "p1", spec, now=1)
    lifecycle.import_contacts(store, "p1", report("+212600000001"), now=1)
    lifecycle.start(store, "p1", current, now=2)
    manager = ProgramManager(
        store,
        None,
        Flows({"v2"}),
        records_path=tmp_path / "r.jsonl",  # type: ignore[arg-type]
        clock=FakeClock(),
        monotonic=FakeMonotonic(),
    )
    assert manager.runner_for("p1").tick() is None
    program = store.get_program("p1")
    assert program.state == "paused" and "version v1 is not served" in (program.reason or "")
    assert store.contacts("p1")[0].attempts == 0
    store.close()


def test_a_running_program_gets_a_runner_again_after_a_restart(
    tmp_path: Path, spec: ProgramSpec
) -> None:
    path = tmp_path / "p.db"
    store = SQLiteStore(path)
    lifecycle.create(store, "p1", spec, now=1)
    lifecycle.create(store, "p2", spec, now=1)
    lifecycle.start(store, "p1", current, now=2)
    store.close()
    reopened = SQLiteStore(path)  # the next start of the controller
    manager = ProgramManager(
        reopened,
        None,
        Flows({"v1"}),
        records_path=tmp_path / "r.jsonl",  # type: ignore[arg-type]
        clock=FakeClock(),
        monotonic=FakeMonotonic(),
    )
    manager.check()
    assert list(manager.runners) == ["p1"]
    assert manager.runners["p1"].tick() == POLL_SECONDS  # no contacts yet: it waits for some
    assert reopened.get_program("p1").state == "running"
    manager.stop()
    reopened.close()

"""The manager's owner name: what a restarted controller resolves (its own attempts on a shared
store, everyone's on SQLite), one live process per name, and `callflow program recover`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gevent.event import AsyncResult
from support.harness import REPO
from support.programs import contact

from controller.cli import main
from controller.flowstore import FlowStore
from controller.programs import runner as runner_module
from controller.programs.database import open_store
from controller.programs.manager import ProgramManager
from controller.programs.model import ProgramSpec
from controller.programs.pacing import GatewayLoad, TokenBucket
from controller.programs.runner import ProgramRunner
from controller.programs.store import ProgramStore, StoreUnavailable
from controller.records import CallRecord


class NoCalls:
    def place(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing is dialled in these tests")


def manager(store: ProgramStore, owner: str, records: Path) -> ProgramManager:
    flows = FlowStore(REPO / "flows")
    return ProgramManager(store, NoCalls(), flows, records_path=records, owner=owner)


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Callable[[], ProgramStore]]:
    """Opens PostgreSQL stores on one database (processes), closed after."""
    opened: list[ProgramStore] = []

    def open_another() -> ProgramStore:
        opened.append(open_store(postgres_url))
        return opened[-1]

    yield open_another
    for built in opened:
        built.close()


def two_owners_in_flight(store: ProgramStore, spec: ProgramSpec) -> None:
    """Owners a and b each have a call in progress and a contact claimed."""
    store.create_program("p1", spec, now=0)
    phones = ["+212600000001", "+212600000002", "+212600000003", "+212600000004"]
    store.add_contacts("p1", [contact(p, i) for i, p in enumerate(phones, 2)], now=0)
    store.transition("p1", "running", allowed_from=("created",), now=0)
    for owner in ("a", "b"):
        dialled, _claimed = store.claim_due("p1", now=1, limit=2, owner=owner)
        store.begin_attempt(dialled.id, uuid=f"uuid-{owner}", gateway=None, owner=owner, now=1)


def test_a_restarted_controller_resolves_its_own_calls_or_everyones_on_sqlite(
    store: ProgramStore, spec: ProgramSpec, tmp_path: Path
) -> None:
    two_owners_in_flight(store, spec)
    restarted = manager(store, "a", tmp_path / "calls.jsonl")
    assert restarted._ensure_store() is store and restarted.owner_held
    report = restarted.recovery
    assert report is not None
    left = {attempt.owner for attempt in store.open_attempts()}
    if store.shared:  # PostgreSQL: b may be alive and its call in progress
        assert (report.unknown, report.released_claims, left) == (["uuid-a"], 1, {"b"})
    else:  # SQLite: one controller per database, so every call left is this one's
        assert (sorted(report.unknown), report.released_claims, left) == (
            ["uuid-a", "uuid-b"],
            2,
            set(),
        )


def test_a_second_live_process_with_the_same_name_does_not_dial(
    pg_store: Callable[[], ProgramStore],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = manager(pg_store(), "host-a", tmp_path / "calls.jsonl")
    second = manager(pg_store(), "host-a", tmp_path / "calls.jsonl")
    assert first._ensure_store() is not None and first.owner_held
    with caplog.at_level(logging.ERROR, "callflow.programs"):
        assert second._ensure_store() is None and not second.owner_held
        second.check()  # said once, not every pass
    assert second.recovery is None  # it touched nobody's calls
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "two callflow processes with one instance_name?" in caplog.records[0].message
    first.store.close()  # type: ignore[union-attr]  # the first one exits: the name is free
    assert second._ensure_store() is not None and second.owner_held


def test_recover_resolves_a_process_gone_for_good_and_refuses_a_live_one(
    postgres_url: str,
    pg_store: Callable[[], ProgramStore],
    spec: ProgramSpec,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = pg_store()
    two_owners_in_flight(store, spec)
    records = tmp_path / "b-calls.jsonl"
    record = {"callId": "uuid-b", "result": "completed", "dial": {"uuid": "uuid-b"}}
    records.write_text(json.dumps(record) + "\n")
    command = ["program", "recover", "--owner", "b", "--db", postgres_url]
    live_b = pg_store()
    live_b.hold_owner("b")
    assert main([*command, "--records", str(records)]) == 1
    assert "'b' is held by another live process" in capsys.readouterr().err
    live_b.close()  # b is gone for good
    assert main([*command, "--records", str(records)]) == 0
    out = capsys.readouterr().out
    assert "1 claim(s) released, 1 call(s) resolved from" in out and "0 counted unknown" in out
    assert {attempt.owner for attempt in store.open_attempts()} == {"a"}  # a's untouched
    rows = {row.phone: row for row in store.contacts("p1")}
    assert rows["+212600000003"].disposition == "completed"


def test_recover_on_sqlite_says_to_start_the_controller_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "programs.db"
    assert main(["program", "dnc", "add", "+212600000001", "--db", str(db)]) == 0
    assert main(["program", "recover", "--owner", "b", "--db", str(db)]) == 2
    assert "start it again" in capsys.readouterr().err


class FlakyStore:
    """A store whose database is away for the first `failures` results written."""

    def __init__(self, store: ProgramStore, failures: int) -> None:
        self.store, self.failures = store, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def complete_attempt(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("program database postgresql://db/x: server closed")
        return self.store.complete_attempt(*args, **kwargs)


def test_a_result_is_written_once_the_database_is_back(
    store: ProgramStore,
    spec: ProgramSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(runner_module, "RECORD_RETRY_WAITS", (0.01, 0.01, 0.01))
    store.create_program("p1", spec, now=0)
    store.add_contacts("p1", [contact("+212600000001")], now=0)
    store.transition("p1", "running", allowed_from=("created",), now=0)
    [claimed] = store.claim_due("p1", now=1, limit=1, owner="a")
    store.begin_attempt(claimed.id, uuid="u1", gateway=None, owner="a", now=1)
    flaky = FlakyStore(store, failures=2)
    runner = ProgramRunner(
        "p1",
        store=flaky,  # type: ignore[arg-type]
        placer=NoCalls(),
        flows=FlowStore(REPO / "flows"),
        owner="a",
        gateways=GatewayLoad(),
        global_bucket=TokenBucket(1.0, 1.0),
    )
    done: AsyncResult = AsyncResult()
    done.set(CallRecord("u1", "outbound", result="completed", dial={"uuid": "u1"}))
    runner.recording = 1
    with caplog.at_level(logging.WARNING, "callflow.programs"):
        runner._record(store.get_program("p1"), "u1", done)  # type: ignore[arg-type]
    assert [a.outcome for a in store.attempts("p1")] == ["completed"]
    assert sum("not recorded yet" in r.message for r in caplog.records) == 2


def test_a_database_down_at_start_does_not_stop_the_controller(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable() -> ProgramStore:
        raise StoreUnavailable("program database postgresql://db/x: connection refused")

    flows = FlowStore(REPO / "flows")
    waiting = ProgramManager(
        None, NoCalls(), flows, records_path=tmp_path / "c.jsonl", open_store=unreachable
    )
    with caplog.at_level(logging.ERROR, "callflow.programs"):
        waiting.start()  # logged, not raised: calls are served without programs
        waiting.stop()
    assert [r.message for r in caplog.records] == [
        "programs: not dialling, the program database is unavailable: "
        "program database postgresql://db/x: connection refused"
    ]

"""The program store's contract, run against every implementation in conftest.STORES."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.programs import contact

from controller.programs.model import ProgramSpec, parse_spec
from controller.programs.retries import decider
from controller.programs.store import AttemptResult, ProgramStore, StoreError


def started(store: ProgramStore, spec: ProgramSpec, *phones: str) -> None:
    store.create_program("p1", spec, now=0)
    store.add_contacts("p1", [contact(p, i) for i, p in enumerate(phones, 1)], now=0)
    store.transition("p1", "running", allowed_from=("created",), now=1, flow_version="v1")


def test_create_is_idempotent_and_refuses_another_spec(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    first = store.create_program("p1", spec, now=1)
    again = store.create_program("p1", spec, now=2)
    assert first == again and first.state == "created" and first.spec == spec
    other = parse_spec({**spec.as_dict(), "maxAttempts": 9})
    with pytest.raises(StoreError, match="another specification"):
        store.create_program("p1", other, now=3)


def test_transitions_are_idempotent_and_guarded(store: ProgramStore, spec: ProgramSpec) -> None:
    store.create_program("p1", spec, now=1)
    running = store.transition("p1", "running", allowed_from=("created",), now=2, flow_version="v")
    assert (running.state, running.flow_version, running.started_at) == ("running", "v", 2)
    assert store.transition("p1", "running", allowed_from=("created",), now=3) == running
    paused = store.transition("p1", "paused", allowed_from=("running",), now=4)
    assert paused.state == "paused" and paused.flow_version == "v"
    store.transition("p1", "cancelled", allowed_from=("running", "paused"), now=5)
    with pytest.raises(StoreError, match="is cancelled; cannot become running"):
        store.transition("p1", "running", allowed_from=("paused",), now=6)
    with pytest.raises(StoreError, match="no program"):
        store.transition("nope", "running", allowed_from=("created",), now=6)
    assert [p.id for p in store.list_programs(("cancelled",))] == ["p1"]


def test_reimporting_a_number_updates_its_data_and_keeps_its_attempts(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    started(store, spec, "+212600000001")
    [claimed] = store.claim_due("p1", now=10, limit=5, owner="me")
    store.begin_attempt(claimed.id, uuid="u1", gateway="gw1", owner="me", now=10)
    result = store.add_contacts(
        "p1", [contact("+212600000001", firstName="Amina"), contact("+212600000002")], now=11
    )
    assert (result.inserted, result.updated) == (1, 1)
    first = store.contacts("p1")[0]
    assert first.data["firstName"] == "Amina"
    assert (first.status, first.attempts) == ("dialing", 1)


def test_claims_take_due_contacts_once_in_order(store: ProgramStore, spec: ProgramSpec) -> None:
    started(store, spec, "+212600000001", "+212600000002", "+212600000003")
    first = store.claim_due("p1", now=10, limit=2, owner="a")
    assert [c.phone for c in first] == ["+212600000001", "+212600000002"]
    assert all(c.status == "claimed" for c in first)
    assert [c.phone for c in store.claim_due("p1", now=10, limit=5, owner="b")] == ["+212600000003"]
    assert store.claim_due("p1", now=10, limit=5, owner="a") == []
    store.unclaim(first[0].id, next_at=100, now=11)  # its window is closed until 100
    assert store.claim_due("p1", now=99, limit=5, owner="a") == []
    assert [c.id for c in store.claim_due("p1", now=100, limit=5, owner="a")] == [first[0].id]
    assert store.release_claims("b", now=12) == 1
    assert store.stats("p1", now=12).by_status == {"claimed": 2, "pending": 1}


def test_an_attempt_is_committed_before_the_originate(
    store: ProgramStore, spec: ProgramSpec, open_store: Callable[[], ProgramStore]
) -> None:
    started(store, spec, "+212600000001")
    [claimed] = store.claim_due("p1", now=10, limit=1, owner="me")
    store.begin_attempt(claimed.id, uuid="u1", gateway="gw1", owner="me", now=10)
    # Another connection (another process after a crash) sees it committed.
    [seen] = open_store().open_attempts("me")
    assert (seen.uuid, seen.state, seen.number, seen.phone) == ("u1", "dialing", 1, claimed.phone)
    with pytest.raises(StoreError, match="not claimed"):  # never two attempts at once
        store.begin_attempt(claimed.id, uuid="u2", gateway="gw1", owner="me", now=11)


def test_results_retry_then_finish_and_completing_twice_does_nothing(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    started(store, spec, "+212600000001")
    busy = AttemptResult("busy", result="busy", cause="USER_BUSY", call_id="u1")
    for number, now in enumerate((10, 700, 1400), start=1):
        [claimed] = store.claim_due("p1", now=now, limit=1, owner="me")
        uuid = f"u{number}"
        store.begin_attempt(claimed.id, uuid=uuid, gateway=None, owner="me", now=now)
        after = store.complete_attempt(
            uuid, busy, decide=decider(spec, ended_at=now + 5), now=now + 5
        )
        assert after is not None and after.attempts == number
    assert (after.status, after.disposition, after.outcome_counts) == ("done", "busy", {"busy": 3})
    assert store.complete_attempt("u3", busy, decide=decider(spec, ended_at=0), now=9) is None
    assert store.complete_attempt("zz", busy, decide=decider(spec, ended_at=0), now=9) is None
    assert [a.outcome for a in store.attempts("p1")] == ["busy"] * 3
    stats = store.stats("p1", now=1405, window=60)
    assert (stats.attempts, stats.recent_attempts, stats.finished) == (3, 1, True)
    assert stats.by_disposition == {"busy": 1}


def test_the_last_calls_variables_are_kept(store: ProgramStore, spec: ProgramSpec) -> None:
    started(store, spec, "+212600000001")
    [claimed] = store.claim_due("p1", now=10, limit=1, owner="me")
    store.begin_attempt(claimed.id, uuid="u1", gateway=None, owner="me", now=10)
    done = AttemptResult("completed", "completed", None, "u1", {"customerResponse": "1"})
    after = store.complete_attempt("u1", done, decide=decider(spec, ended_at=20), now=20)
    assert after is not None
    assert (after.disposition, after.last_call_id) == ("completed", "u1")
    assert after.last_variables == {"customerResponse": "1"}


def test_cancel_ends_pending_contacts_and_stops_retries_of_calls_in_flight(
    store: ProgramStore, spec: ProgramSpec
) -> None:
    started(store, spec, "+212600000001", "+212600000002")
    [claimed] = store.claim_due("p1", now=10, limit=1, owner="me")
    store.begin_attempt(claimed.id, uuid="u1", gateway=None, owner="me", now=10)
    store.transition("p1", "cancelled", allowed_from=("running",), now=11)
    assert store.cancel_pending("p1", now=11) == 1
    busy = AttemptResult("busy", cause="USER_BUSY")
    after = store.complete_attempt("u1", busy, decide=decider(spec, ended_at=12), now=12)
    assert after is not None and (after.disposition, after.last_outcome) == ("cancelled", "busy")
    assert store.stats("p1", now=12).by_disposition == {"cancelled": 2}


def test_do_not_call_global_and_per_program(store: ProgramStore, spec: ProgramSpec) -> None:
    store.create_program("p1", spec, now=0)
    store.create_program("p2", spec, now=0)
    assert store.add_dnc(["+212600000001"], now=1) == 1
    assert store.add_dnc(["+212600000001"], now=1) == 0  # already there
    store.add_dnc(["+212600000002"], scope="p1", now=1)
    assert store.is_dnc("+212600000001", "p2")
    assert store.is_dnc("+212600000002", "p1") and not store.is_dnc("+212600000002", "p2")
    assert store.remove_dnc(["+212600000002"], scope="p1") == 1
    assert not store.is_dnc("+212600000002", "p1")


def test_the_database_survives_reopening(
    store: ProgramStore, spec: ProgramSpec, open_store: Callable[[], ProgramStore]
) -> None:
    store.create_program("p1", spec, now=0)
    store.close()
    assert open_store().get_program("p1").spec == spec

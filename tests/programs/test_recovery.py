"""After a crash: dialing attempts resolved from the call records, or counted as unknown."""

from __future__ import annotations

import json
from pathlib import Path

from support.programs import contact

from controller.programs.model import ProgramSpec
from controller.programs.recovery import find_records, recover
from controller.programs.store import ProgramStore


def test_open_attempts_are_resolved_from_records_or_counted_unknown(
    store: ProgramStore, spec: ProgramSpec, tmp_path: Path
) -> None:
    store.create_program("p1", spec, now=0)
    phones = ["+212600000001", "+212600000002", "+212600000003", "+212600000004"]
    store.add_contacts("p1", [contact(p, i) for i, p in enumerate(phones, 1)], now=0)
    store.transition("p1", "running", allowed_from=("created",), now=0)
    claimed = store.claim_due("p1", now=1, limit=4, owner="dead")
    for index, row in enumerate(claimed[:3], start=1):
        store.begin_attempt(row.id, uuid=f"uuid-{index}", gateway=None, owner="dead", now=1)
    records = tmp_path / "calls.jsonl"
    answered = {
        "callId": "uuid-1",
        "result": "completed",
        "dial": {"uuid": "uuid-1", "cause": None},
        "variables": {"customerResponse": "2", "_unsetReads": ["x"]},
    }
    busy = {
        "callId": "pending-x",
        "result": "busy",
        "dial": {"uuid": "uuid-2", "cause": "USER_BUSY"},
    }
    records.write_text(
        json.dumps({"callId": "other"})
        + "\n"
        + json.dumps(answered)
        + "\n"
        + json.dumps(busy)
        + "\n"
        + '{"callId": "uuid-3", "resu'  # cut short by the crash
    )
    report = recover(store, records, now=50)
    assert report.released_claims == 1  # the fourth was claimed, never dialled
    assert sorted(report.from_records) == ["uuid-1", "uuid-2"] and report.unknown == ["uuid-3"]
    rows = {row.phone: row for row in store.contacts("p1")}
    first = rows["+212600000001"]
    assert (first.disposition, first.last_variables) == ("completed", {"customerResponse": "2"})
    assert (rows["+212600000002"].status, rows["+212600000002"].next_at) == ("pending", 650)
    third = rows["+212600000003"]
    assert (third.status, third.disposition, third.attempts) == ("done", "unknown", 1)
    assert rows["+212600000004"].status == "pending" and rows["+212600000004"].attempts == 0
    assert store.open_attempts() == []
    assert recover(store, records, now=60).from_records == []  # nothing left: idempotent


def test_find_records_without_a_file(tmp_path: Path) -> None:
    assert find_records(tmp_path / "none.jsonl", {"a"}) == {}

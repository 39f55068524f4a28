"""After a crash: attempts left `dialing` are resolved from the call records, never redialled.

An attempt is committed as `dialing` (with its origination uuid) before the originate is
sent, and its result is written when the call's record is. A controller killed in between
leaves the attempt `dialing`. At the next start, before any program dials again:

- claims (contacts picked but not yet dialled) go back to pending — nobody was called;
- each `dialing` attempt is looked up in the records file by uuid (the record's `callId`, or
  its `dial.uuid` for a dial that found nobody): a record found is the attempt's result, as
  if the controller had never stopped;
- no record: the call may or may not have reached the person. The attempt counts, with
  outcome `unknown`, and the program's rule for `unknown` (by default: never again) decides.

Whose: attempts and claims carry their owner, the stable name of the process that made them
(setting `instance_name`, default the host name). On SQLite one controller owns the database
and resolves every owner's at start. On PostgreSQL several processes dial at once, so each
resolves only its own — another's may be in progress right now. A process gone for good
(never to start again under its name) is resolved explicitly, by an operator who knows it is:
`callflow program recover --owner NAME [--records ITS-RECORDS-FILE]`, refused while a live
process holds that name. Not after a lease: a process cut off from the database is not
necessarily dead, and its calls may still be running.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.programs.retries import decider, outcome_of
from controller.programs.store import AttemptResult, ProgramStore

log = logging.getLogger("callflow.programs")


@dataclass(slots=True)
class RecoveryReport:
    released_claims: int = 0
    from_records: list[str] = field(default_factory=list)  # attempt uuids
    unknown: list[str] = field(default_factory=list)


def attempt_result(record: dict[str, Any]) -> AttemptResult:
    """An attempt's result from its call record (as written to calls.jsonl)."""
    dial = record.get("dial") or {}
    variables = {k: v for k, v in (record.get("variables") or {}).items() if k != "_unsetReads"}
    return AttemptResult(
        outcome=outcome_of(record),
        result=record.get("result"),
        cause=dial.get("cause"),
        call_id=record.get("callId"),
        variables=variables,
    )


def find_records(path: Path, uuids: set[str]) -> dict[str, dict[str, Any]]:
    """Records in the JSON-lines file whose callId or dial.uuid is one of `uuids`. A line
    cut short by the crash is skipped (it was never a whole record)."""
    found: dict[str, dict[str, Any]] = {}
    if not uuids or not path.exists():
        return found
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not any(uuid in line for uuid in uuids):
                continue  # cheap: most lines are other calls
            try:
                record = json.loads(line)
            except ValueError:
                log.warning(
                    "%s:%d: not a whole record (cut short by a crash?); skipped", path, number
                )
                continue
            for key in (record.get("callId"), (record.get("dial") or {}).get("uuid")):
                if key in uuids:
                    found[key] = record
    return found


def recover(
    store: ProgramStore, records_path: Path, *, now: float, owner: str | None = None
) -> RecoveryReport:
    """Resolve what a previous run left half-done: `owner`'s, or every owner's (None)."""
    report = RecoveryReport(released_claims=store.release_claims(owner, now=now))
    open_attempts = store.open_attempts(owner)
    if not open_attempts:
        return report
    records = find_records(records_path, {attempt.uuid for attempt in open_attempts})
    for attempt in open_attempts:
        program = store.get_program(attempt.program_id)
        if program is None:
            continue
        record = records.get(attempt.uuid)
        result = attempt_result(record) if record else AttemptResult("unknown")
        decide = decider(program.spec, ended_at=now)
        store.complete_attempt(attempt.uuid, result, decide=decide, now=now)
        (report.from_records if record else report.unknown).append(attempt.uuid)
        log.warning(
            "program %s: attempt %s to %s was in progress when the controller stopped: %s",
            attempt.program_id,
            attempt.uuid,
            attempt.phone,
            f"its record says {result.outcome}" if record else "no record; outcome unknown",
        )
    return report

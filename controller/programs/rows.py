"""Rows as the stores read them, turned into `store` dataclasses; and what an ended attempt
does to its contact — the same for every store, so SQLite and PostgreSQL cannot drift."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from controller.programs.model import parse_spec
from controller.programs.store import (
    AttemptResult,
    AttemptRow,
    ContactRow,
    Decider,
    ProgramRow,
)


def program_row(row: tuple[Any, ...]) -> ProgramRow:
    return ProgramRow(
        id=row[0],
        spec=parse_spec(json.loads(row[1]), stored=True),
        state=row[2],
        reason=row[3],
        flow_version=row[4],
        created_at=row[5],
        updated_at=row[6],
        started_at=row[7],
        finished_at=row[8],
    )


def contact_row(row: tuple[Any, ...]) -> ContactRow:
    return ContactRow(
        id=row[0],
        program_id=row[1],
        phone=row[2],
        data=json.loads(row[3]),
        timezone=row[4],
        line=row[5],
        status=row[6],
        attempts=row[7],
        outcome_counts=json.loads(row[8]),
        next_at=row[9],
        disposition=row[10],
        last_outcome=row[11],
        last_result=row[12],
        last_call_id=row[13],
        last_variables=json.loads(row[14]),
        updated_at=row[15],
    )


def attempt_row(row: tuple[Any, ...]) -> AttemptRow:
    return AttemptRow(*row)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class NextStep:
    status: str  # pending (a retry) or done
    next_at: float
    disposition: str | None
    outcome_counts: dict[str, int]


def next_step(
    contact: ContactRow, program_state: str, result: AttemptResult, decide: Decider
) -> NextStep:
    """The contact after its attempt ended with `result`: counted, then retried or done.
    A cancelled program retries nobody: the contact is done (`cancelled` unless the outcome
    is final anyway)."""
    contact.outcome_counts[result.outcome] = contact.outcome_counts.get(result.outcome, 0) + 1
    decision = decide(contact, result.outcome)
    if decision.retry_at is not None and program_state != "cancelled":
        return NextStep("pending", decision.retry_at, None, contact.outcome_counts)
    disposition = decision.disposition or "cancelled"
    return NextStep("done", contact.next_at, disposition, contact.outcome_counts)


def after_attempt_params(
    step: NextStep, result: AttemptResult, contact_id: int, now: float
) -> tuple[Any, ...]:
    """The parameters of `sql.CONTACT_AFTER_ATTEMPT`."""
    return (
        step.status,
        step.next_at,
        step.disposition,
        to_json(step.outcome_counts),
        result.outcome,
        result.result,
        result.call_id,
        to_json(result.variables),
        now,
        contact_id,
    )

"""What an attempt came to, from its call record, and whether the contact is called again.

The outcome is read from the record's dial first — FreeSWITCH's hangup cause for a dial that
found nobody (the same table the dial node uses for its outputs), the AMD verdict for a
machine — and, for a call a person answered, from the flow's result: `completed` when the
flow ended with that result, else `answered`. A record with no dial at all failed before
anything was sent (`error`).

A retry rule `{after: 10m, times: 3}` for an outcome allows three more attempts after that
outcome (so up to four busy attempts), each at least `after` past the end of the last one —
and never more attempts in all than the program's `maxAttempts`. Anything else is final:
the contact's disposition is its last outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.nodes.dial import CAUSE_OUTPUTS
from controller.programs.model import ProgramSpec

_OUTPUT_OUTCOMES = {"onBusy": "busy", "onNoAnswer": "no_answer", "onRejected": "rejected"}


def outcome_of(record: dict[str, Any]) -> str:
    """The outcome (one of model.OUTCOMES) of a call record, as written to calls.jsonl."""
    dial = record.get("dial")
    result = record.get("result")
    if not dial:
        # handed_off: the answered call runs on another process, which writes its record.
        return "answered" if result == "handed_off" else "error"
    amd = dial.get("amd") or {}
    if dial.get("throttled"):
        return "throttled"
    cause = dial.get("cause")
    if cause:
        return _OUTPUT_OUTCOMES.get(CAUSE_OUTPUTS.get(cause, ""), "failed")
    if amd.get("verdict") == "machine" or result == "voicemail":
        return "voicemail"
    return "completed" if result == "completed" else "answered"


@dataclass(frozen=True, slots=True)
class Decision:
    retry_at: float | None  # when to call again (epoch seconds), or None: final
    disposition: str | None  # the final disposition, when there is no retry


def decide(
    spec: ProgramSpec, outcome: str, *, attempts: int, outcome_count: int, ended_at: float
) -> Decision:
    """`attempts` and `outcome_count` include the attempt that just ended."""
    rule = spec.retry_rule(outcome)
    if rule is not None and outcome_count <= rule.times and attempts < spec.max_attempts:
        return Decision(ended_at + rule.after, None)
    return Decision(None, outcome)


def decider(spec: ProgramSpec, *, ended_at: float) -> Callable[[Any, str], Decision]:
    """A store's `Decider` for a contact of `spec` whose attempt ended at `ended_at`."""

    def decide_for(contact: Any, outcome: str) -> Decision:
        return decide(
            spec,
            outcome,
            attempts=contact.attempts,
            outcome_count=contact.outcome_counts.get(outcome, 0),
            ended_at=ended_at,
        )

    return decide_for

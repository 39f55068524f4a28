"""Outcomes from call records, and every retry rule."""

from __future__ import annotations

from typing import Any

import pytest

from controller.programs.model import parse_spec
from controller.programs.retries import Decision, decide, outcome_of

SPEC = parse_spec(
    {
        "name": "n",
        "flow": "f",
        "timezone": "UTC",
        "retries": {
            "busy": {"after": "10m", "times": 3},
            "no_answer": {"after": "30m", "times": 1},
            "answered": {"after": "1h", "times": 1},
        },
        "maxAttempts": 4,
    }
)


def dial(cause: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"uuid": "u", "cause": cause, "ringMs": 10, "throttled": False, **extra}


@pytest.mark.parametrize(
    ("record", "outcome"),
    [
        ({"result": "completed", "dial": dial()}, "completed"),
        ({"result": "dtmf_timeout", "dial": dial()}, "answered"),
        ({"result": "caller_hangup", "dial": dial()}, "answered"),
        ({"result": "voicemail", "dial": dial(amd={"verdict": "machine"})}, "voicemail"),
        ({"result": "left-message", "dial": dial(amd={"verdict": "machine"})}, "voicemail"),
        ({"result": "busy", "dial": dial("USER_BUSY")}, "busy"),
        ({"result": "no_answer", "dial": dial("NO_ANSWER")}, "no_answer"),
        ({"result": "ended:dial-1:onNoAnswer", "dial": dial("ALLOTTED_TIMEOUT")}, "no_answer"),
        ({"result": "ended:dial-1:onRejected", "dial": dial("CALL_REJECTED")}, "rejected"),
        ({"result": "error", "dial": dial("UNALLOCATED_NUMBER")}, "failed"),
        ({"result": "error", "dial": dial("NO_RESULT")}, "failed"),
        (
            {"result": "error", "dial": dial("DESTINATION_OUT_OF_ORDER", throttled=True)},
            "throttled",
        ),
        ({"result": "error", "dial": None}, "error"),  # never dialled: a bad number
        ({"result": "handed_off", "dial": None}, "answered"),
    ],
)
def test_outcome_of_a_record(record: dict[str, Any], outcome: str) -> None:
    assert outcome_of(record) == outcome


def run(outcomes: list[str]) -> list[Decision]:
    """Decisions for a contact whose attempts came to `outcomes`, one after another."""
    counts: dict[str, int] = {}
    decisions = []
    for attempt, outcome in enumerate(outcomes, start=1):
        counts[outcome] = counts.get(outcome, 0) + 1
        decisions.append(
            decide(SPEC, outcome, attempts=attempt, outcome_count=counts[outcome], ended_at=1000)
        )
    return decisions


def test_busy_is_retried_three_times_ten_minutes_later() -> None:
    decisions = run(["busy", "busy", "busy", "busy"])
    assert [d.retry_at for d in decisions] == [1600, 1600, 1600, None]
    assert decisions[-1].disposition == "busy"


def test_no_answer_once_after_thirty_minutes() -> None:
    assert run(["no_answer", "no_answer"]) == [Decision(2800, None), Decision(None, "no_answer")]


@pytest.mark.parametrize("outcome", ["completed", "voicemail", "rejected", "error", "unknown"])
def test_outcomes_that_are_never_retried(outcome: str) -> None:
    assert run([outcome]) == [Decision(None, outcome)]


def test_default_rules_for_failed_and_throttled() -> None:
    assert run(["failed", "failed"]) == [Decision(4600, None), Decision(None, "failed")]
    assert run(["throttled"]) == [Decision(1030, None)]


def test_an_answered_call_by_its_own_rule() -> None:
    assert run(["answered", "answered"]) == [Decision(4600, None), Decision(None, "answered")]


def test_max_attempts_ends_mixed_retries() -> None:
    # busy, no answer, busy: each allowed by its own rule, but the fourth attempt is the last.
    decisions = run(["busy", "no_answer", "busy", "busy"])
    assert [d.retry_at is not None for d in decisions] == [True, True, True, False]
    assert decisions[-1].disposition == "busy"

"""Expected against actual: each kind of expectation, and how a difference reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.flows.loader import load_flow_file
from controller.flows.model import Flow
from controller.records import CallRecord, Step
from controller.scenarios.compare import check, side_by_side
from controller.scenarios.expect import Expectation
from controller.scenarios.runner import Outcome
from controller.scenarios.spec import Scenario
from controller.simulator.caller import CallerScript

REPO = Path(__file__).resolve().parents[2]
STEPS = [
    ("dial-1", "onAnswer", "play-greeting"),
    ("play-greeting", "onComplete", "collect-response"),
    ("collect-response", "branches.2", "play-callback"),
    ("play-callback", "onComplete", "hangup-success"),
    ("hangup-success", None, None),
]


@pytest.fixture(scope="module")
def flow() -> Flow:
    loaded = load_flow_file(REPO / "flows" / "payment-reminder.yaml").flow
    assert loaded is not None
    return loaded


def outcome(apps: list[tuple[str, str]] | None = None, **expect: Any) -> Outcome:
    scenario = Scenario(
        name="s",
        file="f.test.yaml",
        line=3,
        flow_id="payment-reminder",
        caller=CallerScript(),
        callee=None,
        expect=Expectation(**expect),
    )
    record = CallRecord(
        callId="c",
        path=[Step(nodeId=n, type="x", output=o, next=t) for n, o, t in STEPS],
        variables={"customerResponse": "2", "n": 3.0, "flag": "true"},
        result="completed",
        hangupCause="NORMAL_CLEARING",
    )
    return Outcome(scenario, record, apps or [])


def test_what_matches_passes(flow: Flow) -> None:
    matching = outcome(
        apps=[("playback", "/a/greeting-audio-id.wav"), ("play_and_get_digits", "1 1 1")],
        path=tuple(n for n, _, _ in STEPS),
        outputs=(("dial-1", "onAnswer"), ("collect-response", "branches.2")),
        variables={"customerResponse": 2, "n": 3, "flag": True, "unset": None},
        result="completed",
        hangup_cause="NORMAL_CLEARING",
        commands=("playback greeting-audio-id", "play_and_get_digits"),
    )
    assert check(matching, flow) == []


def test_a_path_difference_marks_the_first_divergence() -> None:
    first, rows = side_by_side(["a", "b", "c"], ["a", "x", "c", "d"])
    assert first == 1
    assert rows == [
        "      step  expected  actual",
        "         1  a         a",
        "    >    2  b         x",
        "         3  c         c",
        "         4  -         d",
    ]
    assert side_by_side(["a"], ["a"])[0] is None
    assert side_by_side(["a", "b"], ["a"])[0] == 1


def test_outputs_are_found_in_order_and_the_miss_is_explained(flow: Flow) -> None:
    [failure] = check(
        outcome(
            outputs=(
                ("dial-1", "onAnswer"),
                ("collect-response", "branches.1"),
                ("play-confirmed", "onComplete"),
            )
        ),
        flow,
    )
    assert failure.summary == "outputs: collect-response: branches.1 was not taken"
    assert failure.details == [
        "      dial-1: onAnswer              step 1",
        "    > collect-response: branches.1  collect-response took branches.2 at step 3",
        "      play-confirmed: onComplete    (not checked)",
        "    taken: dial-1: onAnswer, play-greeting: onComplete, collect-response: branches.2, "
        "play-callback: onComplete",
    ]
    # In order: an output taken before the previous match does not count.
    [failure] = check(
        outcome(outputs=(("collect-response", "branches.2"), ("dial-1", "onAnswer"))), flow
    )
    assert " ".join(failure.details[1].split()) == (
        "> dial-1: onAnswer dial-1 did not run after step 3"
    )


def test_variables_results_and_commands(flow: Flow) -> None:
    failures = check(
        outcome(
            apps=[("answer", ""), ("playback", "/x/audio/callback-audio-id.wav")],
            variables={"customerResponse": "1", "missing": "x", "n": 4},
            result="voicemail",
            hangup_cause="USER_BUSY",
            commands=("answer", "playback confirmed-audio-id"),
        ),
        flow,
    )
    assert [f.field for f in failures] == ["variables", "result", "hangupCause", "commands"]
    assert failures[0].details == [
        "    customerResponse: expected '1', actual '2'",
        "    missing: expected 'x', actual not set",
        "    n: expected 4, actual 3.0",
    ]
    assert failures[1].summary == "result: expected 'voicemail', actual 'completed'"
    assert failures[3].summary == "commands: 'playback confirmed-audio-id' did not run after answer"
    assert failures[3].details[-1] == "    ran: answer, playback callback-audio-id.wav"


def test_problems_of_the_run_are_failures(flow: Flow) -> None:
    broken = outcome(result="completed")
    broken.problems.append("failAt x: the node sent FreeSWITCH no command to refuse")
    assert [f.summary for f in check(broken, flow)] == [
        "failAt x: the node sent FreeSWITCH no command to refuse"
    ]
    broken.record = None
    broken.problems.clear()
    assert [f.summary for f in check(broken, flow)] == ["the call left no record"]

"""Every node type x every output it can take, through real TCP against the simulator.

Each case builds a flow whose node under test wires each output to a hangup named after it,
so the record's result says which output was taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest
from support.harness import Harness, add_flow, single_node_flow

from controller.esl import apps
from controller.exceptions import ESLError

PLAY_OK = {"audioItems": [{"type": "audioFile", "audioId": "greeting-audio-id"}]}
PLAY_MISSING = {"audioItems": [{"type": "audioFile", "audioId": "no-such-prompt"}]}
MENU = {
    "singleDigitConfig": {"allowedDigits": ["1", "2"]},
    "timeout": 3000,
    "prompt": [{"type": "audioFile", "audioId": "ivr/menu"}],
}
ALL_DTMF = ["branches.1", "onSuccess", "onTimeout", "onInvalid", "onMaxRetries", "onError"]


class Case(NamedTuple):
    id: str
    node_type: str
    config: dict[str, Any]
    outputs: list[str]  # the outputs wired, each to a hangup named after it
    caller: str
    expected: str  # the output taken (`branch-<key>` for a branch)


OUTCOMES = ["onComplete", "onTimeout", "onError"]
TRUE_FALSE = ["onTrue", "onFalse", "onError"]
CASES = [
    Case("answer-success", "answer", {}, ["onSuccess", "onError"], "silent", "onSuccess"),
    Case("play-complete", "play", PLAY_OK, ["onComplete", "onError"], "silent", "onComplete"),
    Case("play-error", "play", PLAY_MISSING, ["onComplete", "onError"], "silent", "onError"),
    Case("play-default", "play", PLAY_OK, ["default"], "silent", "default"),
    Case("dtmf-branch", "dtmf", MENU, ALL_DTMF, "press 1", "branch-1"),
    Case("dtmf-success", "dtmf", MENU, ALL_DTMF, "press 2", "onSuccess"),
    Case("dtmf-timeout", "dtmf", MENU, ALL_DTMF, "silent", "onTimeout"),
    Case("dtmf-invalid", "dtmf", MENU, ALL_DTMF, "press 7", "onInvalid"),
    Case(
        "dtmf-max-retries",
        "dtmf",
        {**MENU, "maxRetries": 2},
        ALL_DTMF,
        "press 7; silent; press 9",
        "onMaxRetries",
    ),
    Case(
        "dtmf-retry-then-ok",
        "dtmf",
        {**MENU, "maxRetries": 2},
        ALL_DTMF,
        "silent; press 1",
        "branch-1",
    ),
    Case(
        "dtmf-error",
        "dtmf",
        {**MENU, "prompt": PLAY_MISSING["audioItems"]},
        ALL_DTMF,
        "press 1",
        "onError",
    ),
    Case("dtmf-default", "dtmf", MENU, ["default"], "press 2", "default"),
    Case(
        "dtmf-multi",
        "dtmf",
        {"mode": "multi_digit", "multiDigitConfig": {"maxDigits": 4}},
        ["branches.123", "onSuccess", "onTimeout"],
        "press 123#",
        "branch-123",
    ),
    Case(
        "record-complete",
        "record",
        {"maxDuration": 10000, "silenceDuration": 1000},
        OUTCOMES,
        "speak 2s",
        "onComplete",
    ),
    Case("record-timeout", "record", {"maxDuration": 2000}, OUTCOMES, "speak 5s", "onTimeout"),
    Case("record-default", "record", {"maxDuration": 10000}, ["default"], "speak 1s", "default"),
    Case(
        "condition-true",
        "condition",
        {"variable": "sys.flowId", "value": "case"},
        TRUE_FALSE,
        "silent",
        "onTrue",
    ),
    Case(
        "condition-false",
        "condition",
        {"variable": "sys.direction", "value": "nowhere"},
        TRUE_FALSE,
        "silent",
        "onFalse",
    ),
    Case(
        "condition-error",
        "condition",
        {"variable": "sys.callId", "operator": "gt", "value": 3},
        TRUE_FALSE,
        "silent",
        "onError",
    ),
    Case(
        "set-success",
        "set_variable",
        {"variable": "x", "value": "{{sys.flowId}}", "exportToChannel": True},
        ["onSuccess", "onError"],
        "silent",
        "onSuccess",
    ),
    Case(
        "set-default",
        "set_variable",
        {"variable": "x", "value": 1},
        ["default"],
        "silent",
        "default",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_node_output(harness: Harness, case: Case) -> None:
    add_flow(harness, "case", single_node_flow(case.node_type, case.config, case.outputs))
    record = harness.run("case", case.caller)
    assert record.result == case.expected, (record.path, record.error)
    [tested] = [step for step in record.path if step.nodeId == "under-test"]
    if case.expected == "default":  # the node's own outcome is recorded; the edge was default
        assert tested.next == "out-default"
    else:
        assert tested.output.replace("branches.", "branch-") == case.expected


def test_record_error_when_the_recordings_directory_is_gone(harness: Harness) -> None:
    # FreeSWITCH hangs up a call whose recording it cannot write, so the node checks first.
    directory: Path = harness.server.call_settings.recordings_dir
    directory.rmdir()
    directory.write_text("not a directory")
    add_flow(harness, "case", single_node_flow("record", {}, ["onComplete", "onError"]))
    record = harness.run("case", "speak 1s")
    assert record.result == "onError"
    assert "not writable" in record.path[-2].error


def test_set_variable_error_when_an_exported_value_has_a_line_break(harness: Harness) -> None:
    config = {"variable": "note", "value": "{{contact.note}}", "exportToChannel": True}
    add_flow(harness, "case", single_node_flow("set_variable", config, ["onSuccess", "onError"]))
    record = harness.run("case", contact={"note": "two\nlines"})
    assert record.result == "onError"
    assert "line break" in record.path[-2].error


def test_an_unwired_error_hangs_up_with_the_error_recorded(harness: Harness) -> None:
    add_flow(harness, "case", single_node_flow("play", PLAY_MISSING, ["onComplete"]))
    record = harness.run("case")
    assert record.result == "error"
    assert "no-such-prompt" in record.error
    assert record.hangupCause == "NORMAL_TEMPORARY_FAILURE"


def test_answer_error_when_freeswitch_refuses(harness: Harness, monkeypatch) -> None:
    # FreeSWITCH answering -ERR (or not at all) is the only way an answer fails on a live
    # channel; injected above the socket, the rest of the call is real.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ESLError("execute answer: FreeSWITCH answered '-ERR'")

    monkeypatch.setattr(apps, "answer", refuse)
    add_flow(
        harness,
        "case",
        single_node_flow("answer", {}, ["onSuccess", "onError"], answer_first=False),
    )
    record = harness.run("case")
    assert record.result == "onError"
    assert "-ERR" in record.path[0].error

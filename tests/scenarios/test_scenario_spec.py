"""Reading scenario files: every mistake named by file, line, scenario and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from controller.scenarios.spec import load_scenario_file
from controller.simulator.caller import CallerScript

WriteScenarios = Callable[[str, str], Path]  # the write_scenarios fixture (conftest.py)

GOOD = """\
scenarios:
  - name: a person presses 1
    callee: ring 2s person
    caller: press 1
    contact: { firstName: Amina }
    hangupAt: play-confirmed
    expect:
      path: [dial-1, play-greeting]
      outputs: [{ dial-1: onAnswer }, { collect-response: branches.1 }]
      variables: { customerResponse: "1" }
      result: completed
      commands: [playback greeting-audio-id]
"""


def test_a_good_file_becomes_scenarios(write_scenarios: WriteScenarios) -> None:
    path = write_scenarios("payment-reminder", GOOD)
    loaded = load_scenario_file(path)
    assert loaded.errors == [] and loaded.flow_problems == []
    [scenario] = loaded.scenarios
    assert scenario.flow_id == "payment-reminder"
    assert scenario.line == 2
    assert scenario.callee is not None
    assert scenario.callee.answers and scenario.callee.ring_seconds == 2.0
    assert scenario.callee.caller == CallerScript.parse("press 1")
    assert scenario.hangup_at == "play-confirmed"
    assert scenario.expect.outputs == (("dial-1", "onAnswer"), ("collect-response", "branches.1"))
    assert scenario.expect.commands == ("playback greeting-audio-id",)


def test_mistakes_are_all_reported_with_their_lines(write_scenarios: WriteScenarios) -> None:
    path = write_scenarios(
        "payment-reminder",
        """\
scenarios:
  - name: typos
    calee: person
    caller: prss 1
    hangupAt: play-greting
    expect:
      path: [dial-1, play-greting]
      outputs:
        - dial-1: onAnswr
      reslt: completed
  - name: no expectations
    callee: machin
""",
    )
    errors = load_scenario_file(path, display="pr.test.yaml").errors
    assert errors == [
        "pr.test.yaml:3: scenario 'typos': unknown field 'calee' (did you mean 'callee'?); "
        "allowed: name, caller, callee, audio, contact, variables, hangupAt, failAt, expect",
        "pr.test.yaml:4: scenario 'typos': caller: unknown caller step 'prss 1'",
        "pr.test.yaml:5: scenario 'typos': hangupAt: no node 'play-greting' in flow "
        "payment-reminder (did you mean 'play-greeting'?)",
        "pr.test.yaml:7: scenario 'typos': expect.path[1]: no node 'play-greting' in flow "
        "payment-reminder (did you mean 'play-greeting'?)",
        "pr.test.yaml:9: scenario 'typos': expect.outputs[0]: 'onAnswr' is not an output of "
        "dial-1 (dial) (did you mean 'onAnswer'?); it can take: onAnswer, onVoicemail, "
        "onNoAnswer, onBusy, onRejected, onError, default",
        "pr.test.yaml:10: scenario 'typos': expect: unknown field 'reslt' (did you mean "
        "'result'?); allowed: path, outputs, variables, result, hangupCause, commands",
        "pr.test.yaml:11: scenario 'no expectations': 'expect' is required: any of path, "
        "outputs, variables, result, hangupCause, commands",
        "pr.test.yaml:12: scenario 'no expectations': callee: unknown callee 'machin': use "
        "person, machine, busy, no answer, rejected, error, unreachable, unallocated or a "
        "hangup cause (e.g. USER_BUSY), optionally after 'ring <time>'",
    ]


def test_what_does_not_fit_the_flow_is_refused(write_scenarios: WriteScenarios) -> None:
    dialled = write_scenarios(
        "payment-reminder",
        """\
scenarios:
  - name: a busy line that presses keys
    callee: busy
    caller: press 1
    variables: { x: 1 }
    expect: { result: busy }
  - name: a failure where nothing is sent
    failAt: hangup-busy
    expect: { result: busy }
""",
    )
    errors = load_scenario_file(dialled, display="f").errors
    assert errors[0].startswith("f:3: scenario 'a busy line that presses keys': callee: a 'busy' ")
    assert "has no caller script" in errors[0]
    assert errors[1] == (
        "f:5: scenario 'a busy line that presses keys': variables: a flow that dials has no "
        "channel before its dial: give data as 'contact'"
    )
    assert errors[2].startswith("f:8: scenario 'a failure where nothing is sent': failAt: ")
    assert "hangup node, which sends FreeSWITCH no command" in errors[2]
    inbound = write_scenarios(
        "inbound-ivr",
        """\
scenarios:
  - name: a callee on an inbound flow
    callee: person
    variables: { callflow_flow: other }
    failAt: has-balance
    expect: { result: completed }
""",
    )
    errors = load_scenario_file(inbound, display="i").errors
    assert (
        "i:3: scenario 'a callee on an inbound flow': callee: flow inbound-ivr does not start"
        in (errors[0])
    )
    assert errors[1] == (
        "i:4: scenario 'a callee on an inbound flow': variables: 'callflow_flow' cannot be set "
        "by a scenario"
    )
    assert "has-balance is a condition node" in errors[2]


def test_the_file_itself(write_scenarios: WriteScenarios, flows_copy: Path) -> None:
    duplicate = write_scenarios("payment-reminder", "scenarios:\n  - name: a\n    name: b\n")
    assert load_scenario_file(duplicate, display="d").errors == ["d:3: duplicate key 'name'"]
    empty = write_scenarios("payment-reminder", "flow: payment-reminder\nscenarios: []\n")
    assert load_scenario_file(empty, display="e").errors == [
        "e:2: 'scenarios' must be a non-empty list of scenarios"
    ]
    orphan = flows_copy / "nothing-here.test.yaml"
    orphan.write_text("scenarios:\n  - {name: x, expect: {result: y}}\n")
    [error] = load_scenario_file(orphan, display="o").errors
    assert error.startswith("o:1: no flow nothing-here.yaml (or .yml, .json) beside this file")
    named = flows_copy / "more.test.yaml"
    named.write_text("flow: paymnt-reminder\nscenarios:\n  - {name: x, expect: {result: y}}\n")
    assert load_scenario_file(named, display="m").errors == [
        "m:1: flow: no flow file 'paymnt-reminder' next to more.test.yaml"
    ]
    named.write_text(
        "flow: payment-reminder.yaml\nscenarios:\n  - {name: x, expect: {result: y}}\n"
    )
    loaded = load_scenario_file(named)
    assert loaded.errors == [] and loaded.flow is not None and loaded.flow.id == "payment-reminder"


def test_a_flow_that_does_not_load_is_reported_apart(
    write_scenarios: WriteScenarios, flows_copy: Path
) -> None:
    (flows_copy / "broken.yaml").write_text("name: Broken\ngraph: {startNodeId: a, nodes: []}\n")
    path = write_scenarios("broken", "scenarios:\n  - {name: x, expect: {result: y}}\n")
    loaded = load_scenario_file(path)
    assert loaded.errors == []
    assert loaded.flow is None and loaded.flow_problems
    assert [s.name for s in loaded.scenarios] == ["x"]

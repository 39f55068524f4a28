"""Scenarios through the real controller and the simulator over loopback sockets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from controller.scenarios.compare import check
from controller.scenarios.runner import ScenarioRunner
from controller.scenarios.spec import Scenario, load_scenario_file

REPO = Path(__file__).resolve().parents[2]
WriteScenarios = Callable[[str, str], Path]  # the write_scenarios fixture (conftest.py)


def scenarios_of(*paths: Path) -> list[Scenario]:
    found = []
    for path in paths:
        loaded = load_scenario_file(path)
        assert loaded.errors == [] and loaded.flow_problems == [], loaded.errors
        found.extend(loaded.scenarios)
    return found


def test_a_hundred_scenarios_at_once_on_one_controller(flows_copy: Path) -> None:
    files = sorted((REPO / "flows").glob("*.test.yaml"))
    scenarios = scenarios_of(*files) * 4  # the same calls again: each gets its own number
    assert len(scenarios) >= 100
    flows = sorted(p for p in flows_copy.glob("*.yaml"))
    with ScenarioRunner(flows, audio=REPO / "audio") as runner:
        outcomes = runner.run(scenarios)
        assert [o.scenario for o in outcomes] == scenarios  # in the order given
        failed = [(o.scenario.name, check(o, runner.flows[o.scenario.flow_id])) for o in outcomes]
    assert [f for f in failed if f[1]] == []
    callees = {o.record.destinationNumber for o in outcomes if o.scenario.callee}
    assert len(callees) == sum(1 for s in scenarios if s.callee)


def test_hangup_and_failure_injection(write_scenarios: WriteScenarios, flows_copy: Path) -> None:
    path = write_scenarios(
        "inbound-ivr",
        """\
scenarios:
  - name: refused menu
    failAt: menu
    expect: { result: completed }
  - name: hang up at the welcome
    hangupAt: welcome
    expect: { result: caller_hangup }
""",
    )
    with ScenarioRunner([flows_copy / "inbound-ivr.yaml"], audio=REPO / "audio") as runner:
        refused, hung_up = runner.run(scenarios_of(path))
    assert refused.problems == [] and refused.record is not None
    [menu] = [step for step in refused.record.path if step.nodeId == "menu"]
    assert menu.output == "onError"
    assert "FreeSWITCH answered '-ERR' (the scenario's failAt)" in (menu.error or "")
    assert ("playback", str((REPO / "audio" / "ivr" / "goodbye.wav").resolve())) in refused.apps
    assert hung_up.record is not None
    assert [step.nodeId for step in hung_up.record.path] == ["answer", "welcome"]
    assert hung_up.record.hangupBy == "caller"


def test_what_the_run_could_not_do_is_a_problem(
    write_scenarios: WriteScenarios, flows_copy: Path
) -> None:
    flow = {
        "name": "Missing prompt",
        "graph": {
            "startNodeId": "answer",
            "nodes": [
                {"id": "answer", "type": "answer", "outputs": {"onSuccess": "hello"}},
                {
                    "id": "hello",
                    "type": "play",
                    "config": {"audioItems": [{"type": "audioFile", "audioId": "not-there"}]},
                    "outputs": {"onComplete": "bye", "onError": "bye"},
                },
                {"id": "bye", "type": "hangup", "config": {"reason": "done"}},
            ],
        },
    }
    (flows_copy / "missing-prompt.yaml").write_text(yaml.safe_dump(flow))
    prompt = write_scenarios(
        "missing-prompt",
        "scenarios:\n  - {name: refuse nothing, failAt: hello, expect: {result: done}}\n",
    )
    dialled = write_scenarios(
        "payment-reminder",
        "scenarios:\n  - {name: too early, hangupAt: dial-1, callee: busy,"
        " expect: {result: busy}}\n",
    )
    paths = [flows_copy / "missing-prompt.yaml", flows_copy / "payment-reminder.yaml"]
    with ScenarioRunner(paths, audio=REPO / "audio") as runner:
        refuse_nothing, too_early = runner.run(scenarios_of(prompt, dialled))
    # The play node failed on its own (no such audio) before sending anything.
    assert refuse_nothing.problems == [
        "failAt hello: the node sent FreeSWITCH no command to refuse"
    ]
    assert too_early.problems == ["hangupAt dial-1: there was no call to hang up when it started"]
    assert too_early.record is not None and too_early.record.result == "busy"


def test_dials_that_cannot_be_told_apart_by_number_run_one_at_a_time(
    write_scenarios: WriteScenarios, flows_copy: Path
) -> None:
    document = yaml.safe_load((flows_copy / "payment-reminder.yaml").read_text())
    document["graph"]["nodes"][0]["config"]["destination"] = "0612345678"
    (flows_copy / "fixed-number.yaml").write_text(yaml.safe_dump(document))
    text = """\
scenarios:
  - {name: busy, callee: busy, expect: {result: busy}}
  - {name: person, callee: person, caller: press 1, expect: {result: completed}}
  - {name: machine, callee: machine, expect: {result: voicemail}}
"""
    fixed = write_scenarios("fixed-number", text)
    phoned = write_scenarios(
        "payment-reminder",
        text.replace("callee: busy,", "callee: busy, contact: {phone: '0611111111'},"),
    )
    paths = [flows_copy / "fixed-number.yaml", flows_copy / "payment-reminder.yaml"]
    with ScenarioRunner(paths, audio=REPO / "audio") as runner:
        assert not runner._runs_together(scenarios_of(fixed)[0])
        outcomes = runner.run(scenarios_of(fixed, phoned))
        failures = [check(o, runner.flows[o.scenario.flow_id]) for o in outcomes]
    assert failures == [[]] * 6
    assert outcomes[3].record.destinationNumber == "0611111111"

"""Issue #14, section 1: text from contacts and callers never reaches FreeSWITCH's expander.

Over real sockets: the controller runs each flow against the simulator, which stands in for
FreeSWITCH; what the simulator was asked to run is checked (every application argument, every
variable an application set), and the call's record says what was refused and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.flows import one_node_flow, problems_of
from support.harness import Harness, add_flow, single_node_flow

from controller.esl import apps, protocol
from controller.flows.loader import load_flow_file
from controller.nodes import set_variable
from controller.simulator.expand import assert_nothing_expanded

HOSTILE = [
    "${system touch /tmp/callflow-pwned}",
    "$${hostname}",
    "\\${system id}",
    "${api(system id)}",
    "$\\{x}",
    "$5 off",
]


def sent_to_freeswitch(sim_call: Any) -> list[str]:
    """Every application argument the simulator ran for the call, and every value an
    application set on its channel; fails if the simulator (expanding every argument as
    FreeSWITCH does) ran an API or referenced a variable."""
    outcome = sim_call.wait(timeout=10)
    assert outcome.expansions_run == []
    texts = [run.arg for run in outcome.apps]
    texts += [f"{k}={v}" for run in outcome.apps for k, v in run.variables.items()]
    return texts


def export_flow(template: str) -> dict[str, Any]:
    config = {"variable": "customerName", "value": template, "exportToChannel": True}
    return single_node_flow("set_variable", config, ["onSuccess", "onError"])


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_contact_field_is_never_exported_for_freeswitch_to_expand(
    harness: Harness, hostile: str
) -> None:
    add_flow(harness, "case", export_flow("Dear {{contact.firstName}}"))
    sim_call = harness.place("case", contact={"firstName": hostile})
    record = harness.record_of(sim_call)
    assert record.result == "onError"
    [step] = [s for s in record.path if s.nodeId == "under-test"]
    assert step.error.startswith("value (exported as customerName) contains '$'")
    assert step.error.endswith("it came from contact.firstName")
    assert "customerName" not in record.variables  # nothing set when the export is refused
    assert not any("$" in text for text in sent_to_freeswitch(sim_call))


def test_an_unwired_refusal_ends_the_call_with_the_field_in_its_record(harness: Harness) -> None:
    config = {"variable": "customerName", "value": "{{contact.firstName}}", "exportToChannel": True}
    add_flow(harness, "case", single_node_flow("set_variable", config, ["onSuccess"]))
    record = harness.run("case", contact={"firstName": "${system id}"})
    assert record.result == "error"
    assert "exported as customerName" in record.error and "contact.firstName" in record.error


@pytest.mark.parametrize(
    "variables",
    [
        {"caller_id_name": "${system touch /tmp/x}", "caller_id_number": "${system id}"},
        {"destination_number": "1000${system id}"},
        {"sip_h_X-Account": "${system id}", "sip_from_display": "$${hostname}"},
    ],
)
def test_what_the_far_end_controls_is_never_exported(
    harness: Harness, variables: dict[str, str]
) -> None:
    template = "{{sys.callerIdNumber}}/{{sys.destinationNumber}}"
    add_flow(harness, "case", export_flow(template))
    sim_call = harness.place("case", variables=variables)
    record = harness.record_of(sim_call)
    if any("$" in variables.get(name, "") for name in ("caller_id_number", "destination_number")):
        assert record.result == "onError"
    else:
        assert record.result == "onSuccess"
    assert not any("$" in text for text in sent_to_freeswitch(sim_call))


def test_a_hostile_caller_runs_through_the_shipped_ivr_with_nothing_sent(
    harness: Harness,
) -> None:
    hostile = {
        "caller_id_name": "${system touch /tmp/x}",
        "caller_id_number": "${system id}",
        "callflow_contact": '{"firstName": "${system id}", "balance": "$${x}"}',
    }
    sim_call = harness.place("inbound-ivr", "press 2 after 1s", variables=hostile)
    record = harness.record_of(sim_call)
    assert record.endedAt
    assert not any("${" in text for text in sent_to_freeswitch(sim_call))
    assert_nothing_expanded(harness.simulator)


def test_a_flow_exporting_to_a_name_freeswitch_runs_is_refused_at_load(tmp_path: Path) -> None:
    flow = one_node_flow(
        "set_variable",
        {"variable": "api_hangup_hook", "value": "{{contact.x}}", "exportToChannel": True},
        {"default": "end"},
    )
    assert problems_of(flow) == [("error", "reserved-variable", "/graph/nodes/0/config/variable")]
    # Not exported, the same name is only a flow variable: nothing reaches FreeSWITCH.
    flow["graph"]["nodes"][0]["config"]["exportToChannel"] = False
    assert problems_of(flow) == []


def test_the_refusal_is_one_line_naming_file_node_and_field(tmp_path: Path) -> None:
    path = tmp_path / "hooked.yaml"
    path.write_text(
        "name: hooked\ngraph:\n  startNodeId: n\n  nodes:\n"
        "    - id: n\n      type: set_variable\n"
        "      config: {variable: execute_on_answer, value: x, exportToChannel: true}\n"
    )
    [problem] = [p for p in load_flow_file(path).problems if p.code == "reserved-variable"]
    text = problem.as_text()
    assert "\n" not in text
    assert text.startswith(f"{path}: n: /graph/nodes/0/config/variable: 'execute_on_answer'")


def test_a_digit_pattern_naming_a_variable_is_refused_at_load() -> None:
    flow = one_node_flow(
        "dtmf",
        {"mode": "multi_digit", "multiDigitConfig": {"pattern": "1${x}"}},
        {"default": "end"},
    )
    assert ("error", "invalid-pattern", "/graph/nodes/0/config/multiDigitConfig/pattern") in (
        problems_of(flow)
    )


@pytest.mark.parametrize("call_id", ["../../etc/x", "a/b", "a b", "x${y}", "a\nb"])
def test_a_recording_is_never_named_outside_its_root(harness: Harness, call_id: str) -> None:
    add_flow(harness, "case", single_node_flow("record", {}, ["onComplete", "onError"]))
    sim_call = harness.place("case", "speak 1s")
    # The call id is FreeSWITCH's uuid; here it is forced to what a dialplan could choose.
    harness.watcher.hook = lambda call, node: setattr(call, "id", call_id)
    record = harness.record_of(sim_call)
    assert record.result == "onError"
    assert "not a plain file name" in record.path[-2].error
    assert not any(run.name == "record" for run in sim_call.wait(timeout=10).apps)


def test_a_dial_cannot_set_a_variable_freeswitch_runs() -> None:
    flow = one_node_flow(
        "dial",
        {"variables": {"api_on_answer": "x", "execute_on_answer": "{{contact.x}}", "tag": "1"}},
        {"default": "end"},
    )
    assert problems_of(flow) == [
        ("error", "reserved-variable", "/graph/nodes/0/config/variables/api_on_answer"),
        ("error", "reserved-variable", "/graph/nodes/0/config/variables/execute_on_answer"),
    ]


def test_without_the_checks_the_simulator_records_what_freeswitch_would_have_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The regression these tests exist for: with callflow's checks taken away, the same call
    # makes the simulator (expanding as FreeSWITCH does) record the shell command it would run.
    def unchecked(text: str, _what: str) -> str:
        return text

    for module in (apps, set_variable):
        monkeypatch.setattr(module, "check_channel_value", unchecked)
    monkeypatch.setattr(protocol, "refuse_variables", unchecked)
    add_flow(harness, "case", export_flow("{{contact.firstName}}"))
    sim_call = harness.place("case", contact={"firstName": "${system touch /tmp/pwned}"})
    assert harness.record_of(sim_call).result == "onSuccess"
    [run] = sim_call.wait(timeout=10).expansions_run
    assert (run.api, run.args, run.application) == ("system", "touch /tmp/pwned", "set")
    with pytest.raises(AssertionError, match="API 'system'"):
        assert_nothing_expanded(harness.simulator)

from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of

ALL_OUTCOMES = {
    "onAnswer": "end",
    "onVoicemail": "end",
    "onNoAnswer": "end",
    "onBusy": "end",
    "onRejected": "end",
    "onError": "end",
}


def test_defaults_call_the_contact_for_30_seconds_without_amd() -> None:
    config = loaded_config(one_node_flow("dial", outputs={"default": "end"}))
    assert config["destination"] == "{{contact.phone}}"
    assert config["timeout"] == 30000
    assert config["enableAMD"] is False
    assert config["amd"]["engine"] == "builtin"
    assert config["amd"]["waitForBeep"] is False
    assert config["gateway"] is None and config["dialString"] is None
    assert config["variables"] == {}


def test_all_outcomes_wired_gives_no_warning() -> None:
    flow = one_node_flow("dial", {"enableAMD": True}, ALL_OUTCOMES)
    assert problems_of(flow) == []


def test_unhandled_outcomes_warn_but_voicemail_only_with_amd() -> None:
    outputs = {k: v for k, v in ALL_OUTCOMES.items() if k not in ("onVoicemail", "onBusy")}
    assert problems_of(one_node_flow("dial", {}, outputs)) == [
        ("warning", "unhandled-dial-outcome", "/graph/nodes/0/outputs")
    ]
    flow = one_node_flow("dial", {}, {k: v for k, v in ALL_OUTCOMES.items() if k != "onVoicemail"})
    assert problems_of(flow) == []


def test_channel_variable_names_and_gateway_are_validated() -> None:
    flow = one_node_flow(
        "dial", {"variables": {"bad name": "x"}, "gateway": "gw 1"}, {"default": "end"}
    )
    codes = {(code, pointer) for _, code, pointer in problems_of(flow)}
    assert ("invalid-value", "/graph/nodes/0/config/gateway") in codes
    assert ("invalid-value", "/graph/nodes/0/config/variables") in codes


def test_templates_are_checked_and_their_variables_must_be_set() -> None:
    flow = one_node_flow(
        "dial", {"destination": "{{ phone", "callerIdName": "{{agentName}}"}, {"default": "end"}
    )
    assert problems_of(flow) == [
        ("error", "invalid-template", "/graph/nodes/0/config/destination"),
        ("warning", "unset-variable", "/graph/nodes/0/config/callerIdName"),
    ]

from __future__ import annotations

from support.flows import problems_of

from controller.nodes.hangup import cause_for


def hangup_flow(config: dict | None = None, outputs: dict | None = None) -> dict:
    node: dict = {"id": "h", "type": "hangup"}
    if config is not None:
        node["config"] = config
    if outputs is not None:
        node["outputs"] = outputs
    return {"name": "h", "graph": {"startNodeId": "h", "nodes": [node]}}


def test_hangup_types_map_to_causes_and_an_explicit_cause_wins() -> None:
    base = {"reason": "x", "hangupCause": None}
    assert cause_for({**base, "hangupType": "normal"}) == "NORMAL_CLEARING"
    assert cause_for({**base, "hangupType": "busy"}) == "USER_BUSY"
    assert cause_for({**base, "hangupType": "rejected"}) == "CALL_REJECTED"
    assert cause_for({**base, "hangupType": "busy", "hangupCause": "NO_ANSWER"}) == "NO_ANSWER"


def test_hangup_is_terminal() -> None:
    assert problems_of(hangup_flow()) == []
    assert problems_of(hangup_flow(outputs={"default": "h"})) == [
        ("error", "terminal-has-outputs", "/graph/nodes/0/outputs")
    ]


def test_unknown_cause_is_an_error() -> None:
    assert problems_of(hangup_flow({"hangupCause": "NORMAL_CLEARNG"})) == [
        ("error", "invalid-value", "/graph/nodes/0/config/hangupCause")
    ]

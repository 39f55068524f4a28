"""Closed loops: found where validation cannot see them, and not where a way out exists."""

from __future__ import annotations

import json
from typing import Any

from controller.flows.loader import load_flow_data
from controller.flows.loops import closed_loops
from controller.flows.model import Flow


def _flow(*nodes: dict[str, Any]) -> Flow:
    """The nodes, and a hangup `end` when one of them leads there."""
    end = [{"id": "end", "type": "hangup"}] if '"end"' in json.dumps(nodes) else []
    document = {"name": "t", "graph": {"startNodeId": nodes[0]["id"], "nodes": [*nodes, *end]}}
    result = load_flow_data(document, flow_id="t")
    assert result.flow is not None, [p.as_text() for p in result.problems]
    return result.flow


def _menu(node_id: str = "menu", **outputs: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "dtmf",
        "config": {
            "variable": "choice",
            "maxRetries": 1,
            "singleDigitConfig": {"allowedDigits": ["1", "2"]},
        },
        "outputs": outputs,
    }


def _check(rule: dict[str, Any], **outputs: str) -> dict[str, Any]:
    return {"id": "check", "type": "condition", "config": rule, "outputs": outputs}


def _hold(next_id: str) -> dict[str, Any]:
    return {
        "id": "hold",
        "type": "play",
        "config": {"audioItems": [{"type": "audioFile", "audioId": "hold"}]},
        "outputs": {"onComplete": next_id},
    }


def test_a_menu_that_can_end_the_call_is_not_a_closed_loop() -> None:
    # a pressed 2 has no branch and onSuccess is unwired: the call ends there
    assert closed_loops(_flow(_menu(branches={"1": "menu"}, onMaxRetries="menu"))) == []


def test_the_start_node_looping_on_itself() -> None:
    menu = _menu(branches={"1": "menu", "2": "menu"}, onMaxRetries="menu")
    [loop] = closed_loops(_flow(menu))
    assert loop.nodes == ("menu",) and loop.entry is None
    assert loop.path == (("menu", "branches.1"), ("menu", None))


def test_a_condition_on_what_the_loop_changes_is_a_way_out() -> None:
    menu = _menu(branches={"1": "check", "2": "check"}, onMaxRetries="check")
    check = _check({"variable": "choice", "value": "1"}, onTrue="end", onFalse="menu")
    assert closed_loops(_flow(menu, check)) == []


def test_a_condition_on_the_clock_is_a_way_out() -> None:
    check = _check(
        {"variable": "sys.now", "operator": "lt", "value": "2"}, onTrue="hold", onFalse="end"
    )
    assert closed_loops(_flow(check, _hold("check"))) == []


def test_a_condition_comparing_with_the_clock_is_a_way_out() -> None:
    rule = {"variable": "contact.deadline", "operator": "gt", "value": "{{ sys.now }}"}
    check = _check(rule, onTrue="hold", onFalse="end")
    assert closed_loops(_flow(check, _hold("check"))) == []


def test_a_condition_on_a_variable_set_outside_the_loop_is_fixed() -> None:
    first = {
        "id": "first",
        "type": "set_variable",
        "config": {"variable": "mode", "value": "wait"},
        "outputs": {"default": "check"},
    }
    check = _check({"variable": "mode", "value": "wait"}, onTrue="hold", onFalse="end")
    [loop] = closed_loops(_flow(first, check, _hold("check")))
    assert loop.nodes == ("check", "hold") and loop.fixed_conditions == ("check",)
    assert loop.entry == ("first", "default")
    assert [node for node, _ in loop.path] == ["first", "check", "hold", "check"]


def test_a_wired_on_error_out_of_the_loop_is_a_way_out() -> None:
    menu = _menu(branches={"1": "menu", "2": "menu"}, onMaxRetries="menu", onError="end")
    assert closed_loops(_flow(menu)) == []

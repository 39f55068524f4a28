"""Definitely-assigned variables: a read is flagged only when some path reaches it unset."""

from __future__ import annotations

from typing import Any

import pytest

from controller.flows.dataflow import definitely_set, describe, reads_before_set
from controller.flows.loader import load_flow_data
from controller.flows.model import Flow


def _flow(*nodes: dict[str, Any]) -> Flow:
    document = {
        "name": "t",
        "graph": {
            "startNodeId": nodes[0]["id"],
            "nodes": [*nodes, {"id": "end", "type": "hangup"}],
        },
    }
    result = load_flow_data(document, flow_id="t")
    assert result.flow is not None, [p.as_text() for p in result.problems]
    return result.flow


def _menu(**outputs: Any) -> dict[str, Any]:
    return {
        "id": "menu",
        "type": "dtmf",
        "config": {"variable": "choice", "singleDigitConfig": {"allowedDigits": ["1", "2"]}},
        "outputs": outputs,
    }


def _uses_choice(next_id: str = "end") -> dict[str, Any]:
    return {
        "id": "use",
        "type": "set_variable",
        "config": {"variable": "said", "value": "{{choice}}"},
        "outputs": {"default": next_id},
    }


def _check(rule: dict[str, Any], **outputs: str) -> dict[str, Any]:
    return {"id": "check", "type": "condition", "config": rule, "outputs": outputs}


def _unset(flow: Flow) -> list[tuple[str, str, str]]:
    return [(r.node, r.pointer, describe(r.path)) for r in reads_before_set(flow)]


def test_a_read_after_every_way_of_setting_it_is_fine() -> None:
    flow = _flow(_menu(onSuccess="use", onTimeout="end"), _uses_choice())
    assert _unset(flow) == []
    assert definitely_set(flow)["use"] == {"choice"}


def test_a_timeout_does_not_set_the_menu_variable() -> None:
    flow = _flow(_menu(onSuccess="use", onTimeout="use"), _uses_choice())
    assert _unset(flow) == [("use", "/value", "menu -onTimeout-> use")]


def test_a_variable_no_node_sets_is_left_to_validation() -> None:
    flow = _flow(
        {
            "id": "use",
            "type": "set_variable",
            "config": {"variable": "a", "value": "{{b}}"},
            "outputs": {"default": "end"},
        }
    )
    assert _unset(flow) == []


def test_a_loop_back_before_the_write_is_a_path() -> None:
    # greet reads `name` (set by the record node below it); the first time round it is unset
    greet = {
        "id": "greet",
        "type": "set_variable",
        "config": {"variable": "last", "value": "{{ name }}"},
        "outputs": {"default": "rec"},
    }
    rec = {"id": "rec", "type": "record", "config": {"variable": "name"}, "outputs": {}}
    rec["outputs"] = {"onComplete": "greet", "onTimeout": "end"}
    flow = _flow(greet, rec)
    assert _unset(flow) == [("greet", "/value", "greet")]


@pytest.mark.parametrize(
    ("rule", "outputs", "flagged"),
    [
        ({"variable": "choice", "operator": "exists"}, {"onTrue": "use", "onFalse": "end"}, False),
        ({"variable": "choice", "operator": "exists"}, {"onTrue": "end", "onFalse": "use"}, True),
        ({"variable": "choice", "operator": "isEmpty"}, {"onTrue": "end", "onFalse": "use"}, False),
        (
            {"variable": "choice", "operator": "gt", "value": 1},
            {"onTrue": "end", "onFalse": "use"},
            False,
        ),
        ({"variable": "choice", "value": "1"}, {"onTrue": "use", "onFalse": "end"}, False),
        ({"variable": "choice", "value": ""}, {"onTrue": "use", "onFalse": "end"}, True),
        (
            {
                "all": [
                    {"variable": "x", "value": "1"},
                    {"variable": "choice", "operator": "exists"},
                ]
            },
            {"onTrue": "use", "onFalse": "end"},
            False,
        ),
        (
            {
                "any": [
                    {"variable": "x", "value": "1"},
                    {"variable": "choice", "operator": "exists"},
                ]
            },
            {"onTrue": "use", "onFalse": "end"},
            True,  # true because x is 1, choice unknown
        ),
        (
            {
                "any": [
                    {"variable": "x", "value": "1"},
                    {"variable": "choice", "operator": "exists"},
                ]
            },
            {"onTrue": "end", "onFalse": "use"},
            True,
        ),
        (
            {
                "any": [
                    {"variable": "x", "value": "1"},
                    {"variable": "choice", "operator": "notExists"},
                ]
            },
            {"onTrue": "end", "onFalse": "use"},
            False,  # every rule false: choice exists
        ),
    ],
)
def test_conditions_tell_what_is_set_on_each_side(
    rule: dict[str, Any], outputs: dict[str, str], flagged: bool
) -> None:
    # the menu may time out (choice unset) into the condition, which guards the read
    flow = _flow(
        _menu(onSuccess="check", onTimeout="check"), _check(rule, **outputs), _uses_choice()
    )
    reads = [(node, pointer) for node, pointer, _ in _unset(flow) if node == "use"]
    assert bool(reads) is flagged


def test_existence_tests_are_not_reads_but_comparisons_are() -> None:
    exists = _check({"variable": "choice", "operator": "exists"}, onTrue="end", onFalse="end")
    flow = _flow(_menu(onSuccess="check", onTimeout="check"), exists)
    assert _unset(flow) == []
    equals = _check({"variable": "choice", "value": "1"}, onTrue="end", onFalse="end")
    flow = _flow(_menu(onSuccess="check", onTimeout="check"), equals)
    assert _unset(flow) == [("check", "/variable", "menu -onTimeout-> check")]


def test_sys_and_contact_are_always_in_scope() -> None:
    node = {
        "id": "use",
        "type": "set_variable",
        "config": {"variable": "a", "value": "{{sys.callId}} {{contact.firstName}}"},
        "outputs": {"default": "end"},
    }
    assert _unset(_flow(node)) == []

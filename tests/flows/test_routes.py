"""The outputs a node can really take, checked against the nodes' own `run` where it matters."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest
from support.flows import one_node_flow

from controller.call import Call
from controller.esl.apps import DigitsResult
from controller.flows.loader import load_flow_data
from controller.flows.model import Flow, Node
from controller.flows.routes import Route, never_taken, possible_outputs, reachable, routes
from controller.nodes import dtmf
from controller.nodes.dtmf import DIGITS


def _flow(document: dict[str, Any]) -> Flow:
    result = load_flow_data(document, flow_id="test")
    assert result.flow is not None, [p.as_text() for p in result.problems]
    return result.flow


def _node(node_type: str, config: dict[str, Any] | None, outputs: dict[str, Any]) -> Node:
    return _flow(one_node_flow(node_type, config, outputs)).nodes["n"]


def test_unwired_outputs_go_by_default_except_on_error() -> None:
    node = _node("record", None, {"onComplete": "end", "default": "end"})
    assert routes(node) == [
        Route("onComplete", "onComplete", "end"),
        Route("onTimeout", "default", "end"),
        Route("onError", None, None),
    ]
    node = _node("answer", None, {"default": "end"})
    assert routes(node) == [Route("onSuccess", "default", "end"), Route("onError", None, None)]


def test_dial_takes_on_voicemail_only_with_amd() -> None:
    assert "onVoicemail" not in possible_outputs(_node("dial", None, {"default": "end"}))
    with_amd = _node("dial", {"enableAMD": True}, {"default": "end"})
    assert "onVoicemail" in possible_outputs(with_amd)
    dead = _node("dial", None, {"onVoicemail": "end", "default": "end"})
    assert [wire for wire, _ in never_taken(dead)] == ["onVoicemail"]


@pytest.mark.parametrize(
    ("config", "outputs", "dead"),
    [
        ({"maxRetries": 1}, {"onMaxRetries": "end", "onTimeout": "end"}, ["onTimeout"]),
        ({"maxRetries": 0}, {"onMaxRetries": "end", "onTimeout": "end"}, ["onMaxRetries"]),
        (
            {"maxRetries": 2, "singleDigitConfig": {"allowedDigits": ["1"]}},
            {"onTimeout": "end", "onInvalid": "end"},
            [],
        ),
        (
            {"singleDigitConfig": {"allowedDigits": ["1", "2"]}},
            {"branches": {"1": "end", "2": "end"}, "onSuccess": "end"},
            ["onSuccess"],
        ),
        ({}, {"onInvalid": "end", "onSuccess": "end"}, ["onInvalid"]),  # every key allowed
        (
            {"mode": "multi_digit", "multiDigitConfig": {"terminators": "#*"}},
            {"branches": {"12": "end", "1#": "end", "*9": "end"}, "default": "end"},
            ["branches.1#", "branches.*9"],
        ),
        (  # no terminators: '#' can be part of an entry
            {"mode": "multi_digit", "multiDigitConfig": {"terminators": ""}},
            {"branches": {"1#": "end"}, "default": "end"},
            [],
        ),
        (  # an invalid key goes by default
            {"singleDigitConfig": {"allowedDigits": ["1"]}},
            {"onSuccess": "end", "onTimeout": "end", "onError": "end", "default": "end"},
            [],
        ),
        (
            {"maxRetries": 1},
            {"onSuccess": "end", "onMaxRetries": "end", "onError": "end", "default": "end"},
            ["default"],
        ),
    ],
)
def test_dtmf_outputs_never_taken(
    config: dict[str, Any], outputs: dict[str, Any], dead: list[str]
) -> None:
    assert [wire for wire, _ in never_taken(_node("dtmf", config, outputs))] == dead


class _Caller:
    """Stands in for play_and_get_digits: one scripted result per attempt."""

    def __init__(self, attempts: tuple[DigitsResult, ...]) -> None:
        self.attempts = list(attempts)

    def __call__(self, *_: Any) -> DigitsResult:
        return self.attempts.pop(0) if self.attempts else DigitsResult(None, None)


def _outputs_run_returns(node: Node, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every output dtmf.run returns, over every way a caller can answer every attempt."""
    config = node.config
    if config["mode"] == "single_digit":
        allowed = config["singleDigitConfig"]["allowedDigits"]
        answers = [DigitsResult(key, None) for key in allowed]
        answers += [DigitsResult(None, key) for key in DIGITS if key not in allowed]
    else:  # FreeSWITCH never includes a terminator in an entry
        stops = config["multiDigitConfig"]["terminators"]
        keys = [k for k in [*node.branches, "98765"] if not set(k) & set(stops)]
        answers = [DigitsResult(key, None) for key in keys] + [DigitsResult(None, "1")]
    answers.append(DigitsResult(None, None))  # silence
    channel = SimpleNamespace(take_digits=lambda: "")
    returned = set()
    monkeypatch.setattr(dtmf, "_typed_ahead", lambda *_: None)
    for script in itertools.product(answers, repeat=1 + config["maxRetries"]):
        monkeypatch.setattr(dtmf, "_collect", _Caller(script))
        call: Any = SimpleNamespace(
            live_channel=channel,
            record=SimpleNamespace(digits=[]),
            node=node,
            set_variable=lambda *_: None,
        )
        call.wired = lambda output, call=call: Call.wired(call, output)
        returned.add(dtmf.run(call, {**config, "prompt": [], "invalidPrompt": []}))
    return returned


@pytest.mark.parametrize(
    ("config", "outputs"),
    [
        ({"maxRetries": 1}, {"onMaxRetries": "end", "default": "end"}),
        ({"maxRetries": 2}, {"default": "end"}),
        ({"singleDigitConfig": {"allowedDigits": ["1", "2"]}}, {"branches": {"1": "end"}}),
        ({"singleDigitConfig": {"allowedDigits": ["1"]}}, {"branches": {"1": "end"}}),
        ({}, {"branches": {"5": "end"}, "default": "end"}),
        (
            {"mode": "multi_digit", "maxRetries": 1},
            {"branches": {"12": "end", "3#": "end"}, "onMaxRetries": "end"},
        ),
    ],
)
def test_dtmf_possible_outputs_are_what_run_returns(
    config: dict[str, Any], outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = _node("dtmf", config, outputs)
    assert _outputs_run_returns(node, monkeypatch) | {"onError"} == set(possible_outputs(node))


def test_reachable_follows_only_outputs_a_call_takes() -> None:
    document = one_node_flow("dtmf", {"maxRetries": 1}, {"onMaxRetries": "end", "onTimeout": "x"})
    document["graph"]["nodes"].append({"id": "x", "type": "hangup"})
    assert reachable(_flow(document)) == ["n", "end"]

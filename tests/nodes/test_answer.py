from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of


def test_answer_takes_no_config() -> None:
    assert loaded_config(one_node_flow("answer", outputs={"onSuccess": "end"})) == {}
    assert problems_of(one_node_flow("answer", {"ring": 1}, {"onSuccess": "end"})) == [
        ("error", "unknown-field", "/graph/nodes/0/config/ring")
    ]


def test_answer_outputs_are_the_guides() -> None:
    flow = one_node_flow("answer", outputs={"onSuccess": "end", "onError": "end", "default": "end"})
    assert problems_of(flow) == []
    # One mistake, one report: the misnamed output still counts as an edge, so its target is
    # not also reported as unreachable.
    assert problems_of(one_node_flow("answer", outputs={"onComplete": "end"})) == [
        ("error", "unknown-output", "/graph/nodes/0/outputs/onComplete"),
    ]

from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of


def test_defaults() -> None:
    config = loaded_config(one_node_flow("record", outputs={"default": "end"}))
    assert config == {
        "maxDuration": 60000,
        "silenceThreshold": 200,
        "silenceDuration": 3000,
        "beep": True,
        "terminators": "#",
        "variable": "recordingPath",
    }


def test_limits_and_names() -> None:
    flow = one_node_flow("record", {"maxDuration": 10, "variable": "my path"}, {"default": "end"})
    assert problems_of(flow) == [
        ("error", "out-of-range", "/graph/nodes/0/config/maxDuration"),
        ("error", "invalid-value", "/graph/nodes/0/config/variable"),
    ]

from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of


def test_value_template_and_export_default() -> None:
    config = loaded_config(
        one_node_flow(
            "set_variable",
            {"variable": "greeting", "value": "Hi {{contact.firstName}}"},
            {"default": "end"},
        )
    )
    assert config["exportToChannel"] is False


def test_variable_and_value_are_required() -> None:
    assert problems_of(one_node_flow("set_variable", {}, {"default": "end"})) == [
        ("error", "missing-field", "/graph/nodes/0/config/value"),
        ("error", "missing-field", "/graph/nodes/0/config/variable"),
    ]


def test_flow_variables_cannot_shadow_namespaces() -> None:
    flow = one_node_flow("set_variable", {"variable": "sys.callId", "value": 1}, {"default": "end"})
    assert problems_of(flow) == [("error", "invalid-value", "/graph/nodes/0/config/variable")]

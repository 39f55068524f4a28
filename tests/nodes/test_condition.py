from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of

OUT = {"onTrue": "end", "onFalse": "end"}


def test_comparison_defaults_to_equals() -> None:
    config = loaded_config(
        one_node_flow("condition", {"variable": "sys.callId", "value": "x"}, OUT)
    )
    assert config == {"variable": "sys.callId", "operator": "equals", "value": "x"}


def test_nested_groups_validate_each_rule() -> None:
    config = {
        "all": [
            {"variable": "contact.city", "operator": "in", "value": ["Rabat"]},
            {
                "any": [
                    {
                        "variable": "contact.customAttributes.balance",
                        "operator": "gte",
                        "value": 100,
                    },
                    {"variable": "contact.firstName", "operator": "exists"},
                ]
            },
        ]
    }
    assert problems_of(one_node_flow("condition", config, OUT)) == []


def test_operator_rules() -> None:
    cases = {
        "exists-with-value": (
            {"variable": "contact.x", "operator": "exists", "value": 1},
            "invalid-config",
        ),
        "in-without-list": (
            {"variable": "contact.x", "operator": "in", "value": "a"},
            "invalid-config",
        ),
        "gt-text": ({"variable": "contact.x", "operator": "gt", "value": "abc"}, "invalid-config"),
        "bad-regex": (
            {"variable": "contact.x", "operator": "matches", "value": "(a"},
            "invalid-pattern",
        ),
        "missing-value": ({"variable": "contact.x", "operator": "equals"}, "missing-field"),
        "bad-operator": (
            {"variable": "contact.x", "operator": "like", "value": 1},
            "invalid-value",
        ),
    }
    for name, (config, code) in cases.items():
        found = [c for _, c, _ in problems_of(one_node_flow("condition", config, OUT))]
        assert found == [code], name


def test_matches_values_are_regexes_not_templates() -> None:
    config = {"variable": "contact.zip", "operator": "matches", "value": "^[0-9]{5}$"}
    assert problems_of(one_node_flow("condition", config, OUT)) == []


def test_unknown_system_variable_and_unset_flow_variable_warn() -> None:
    config = {"any": [{"variable": "sys.callid", "value": 1}, {"variable": "score", "value": 1}]}
    assert [c for _, c, _ in problems_of(one_node_flow("condition", config, OUT))] == [
        "unknown-system-variable",
        "unset-variable",
    ]

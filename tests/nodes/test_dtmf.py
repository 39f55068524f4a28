from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of


def test_defaults_accept_any_single_key_once() -> None:
    config = loaded_config(one_node_flow("dtmf", outputs={"default": "end"}))
    assert config["mode"] == "single_digit"
    assert config["variable"] == "digits"
    assert config["maxRetries"] == 0
    assert config["singleDigitConfig"]["allowedDigits"] == list("1234567890*#")
    assert config["multiDigitConfig"] == {
        "minDigits": 1,
        "maxDigits": 20,
        "terminators": "#",
        "interDigitTimeout": 3000,
        "pattern": None,
    }
    assert config["prompt"] == [] and config["invalidPrompt"] == []


def test_branch_keys_must_be_keys_and_allowed() -> None:
    flow = one_node_flow(
        "dtmf",
        {"singleDigitConfig": {"allowedDigits": ["1", "2"]}},
        {"branches": {"1": "end", "3": "end", "A": "end", "12": "end"}},
    )
    assert problems_of(flow) == [
        ("error", "branch-not-allowed", "/graph/nodes/0/outputs/branches/3"),
        ("error", "invalid-branch-key", "/graph/nodes/0/outputs/branches/12"),
        ("error", "invalid-branch-key", "/graph/nodes/0/outputs/branches/A"),
    ]


def test_multi_digit_branches_are_whole_entries() -> None:
    config = {
        "mode": "multi_digit",
        "multiDigitConfig": {"minDigits": 2, "maxDigits": 4, "pattern": "[0-9]+"},
    }
    ok = one_node_flow("dtmf", config, {"branches": {"12": "end", "999": "end"}, "default": "end"})
    assert problems_of(ok) == []
    bad = one_node_flow("dtmf", config, {"branches": {"1": "end", "12*": "end"}, "default": "end"})
    assert [code for _, code, _ in problems_of(bad)] == ["branch-not-allowed"] * 2


def test_cross_field_rules() -> None:
    flow = one_node_flow(
        "dtmf",
        {
            "mode": "multi_digit",
            "multiDigitConfig": {"minDigits": 5, "maxDigits": 2, "pattern": "([0-9]"},
        },
        {"default": "end"},
    )
    assert problems_of(flow) == [
        ("error", "invalid-config", "/graph/nodes/0/config/multiDigitConfig/minDigits"),
        ("error", "invalid-pattern", "/graph/nodes/0/config/multiDigitConfig/pattern"),
    ]


def test_the_variable_it_sets_counts_as_set() -> None:
    flow = one_node_flow("dtmf", {"variable": "choice"}, {"default": "check"})
    flow["graph"]["nodes"].append(
        {
            "id": "check",
            "type": "condition",
            "config": {"variable": "choice", "value": "1"},
            "outputs": {"onTrue": "end", "onFalse": "end"},
        }
    )
    assert problems_of(flow) == []

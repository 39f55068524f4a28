"""The published schema: in sync with the node modules, valid, and usable by editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from controller.flows.loader import load_flow_data
from controller.flows.schema import apply_defaults, flow_schema, schema_text
from controller.nodes import NODE_TYPES

PUBLISHED = Path(__file__).resolve().parents[2] / "controller" / "schema" / "flow.schema.json"


def test_published_schema_file_is_in_sync_with_the_node_modules() -> None:
    assert PUBLISHED.read_text() == schema_text(), "run `make docs` to regenerate it"


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(flow_schema())
    assert flow_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_node_type_has_its_config_and_outputs_in_the_schema() -> None:
    defs = json.loads(PUBLISHED.read_text())["$defs"]
    for name, node_type in NODE_TYPES.items():
        assert f"{name}.config" in defs
        assert set(node_type.outputs) <= set(defs[f"{name}.outputs"]["properties"])


def _fields(schema: dict, path: str = "") -> list[tuple[str, dict]]:
    found = []
    for key, sub in schema.get("properties", {}).items():
        found.append((f"{path}{key}", sub))
        found.extend(_fields(sub, f"{path}{key}."))
    return found


def test_every_optional_config_field_has_a_default_and_a_description() -> None:
    # "Every config read has a default": the runtime never needs a fallback of its own.
    for name, node_type in NODE_TYPES.items():
        schema = node_type.config_schema
        required = set(schema.get("required", ()))
        for field, sub in _fields(schema):
            assert "description" in sub, f"{name}.{field} has no description"
            if "." not in field and field not in required:
                assert "default" in sub, f"{name}.{field} has no default"


def test_defaults_are_applied_through_refs_and_conditionals() -> None:
    document = {
        "name": "x",
        "graph": {
            "startNodeId": "a",
            "nodes": [
                {"id": "a", "type": "dial"},
                {
                    "id": "b",
                    "type": "condition",
                    "config": {"any": [{"variable": "v", "value": 1}]},
                },
                {
                    "id": "c",
                    "type": "play",
                    "config": {"audioItems": [{"type": "number", "value": 5}]},
                },
            ],
        },
    }
    apply_defaults(document)
    dial, condition, play = document["graph"]["nodes"]
    assert dial["config"]["timeout"] == 30000
    assert dial["config"]["destination"] == "{{contact.phone}}"
    assert dial["config"]["amd"]["initialSilence"] == 2500
    assert dial["outputs"] == {}
    assert condition["config"]["any"][0]["operator"] == "equals"
    assert play["config"]["audioItems"][0] == {
        "type": "number",
        "value": 5,
        "mode": "full",
        "currency": "MAD",
        "language": None,
    }
    assert document["settings"] == {"language": "en", "typeAhead": True, "recordSession": False}
    assert document["description"] == ""


@pytest.mark.parametrize(
    ("where", "value"),
    [("id", "welcome\n"), ("variable", "choice\n"), ("gateway", "gw1\n")],
)
def test_a_pattern_matches_the_whole_text_as_json_schema_means(where: str, value: str) -> None:
    # ECMA-262's `$` is the very end; Python's also matches before a final newline.
    node: dict[str, Any] = {"id": "n", "type": "dial", "outputs": {"default": "end"}}
    if where == "id":
        node["id"] = value
    elif where == "variable":
        node = {"id": "n", "type": "set_variable", "config": {"variable": value, "value": 1}}
    else:
        node["config"] = {"gateway": value}
    flow = {
        "name": "t",
        "graph": {"startNodeId": "n", "nodes": [node, {"id": "end", "type": "hangup"}]},
    }
    problems = load_flow_data(flow, flow_id="t").problems
    assert any(p.severity == "error" and p.pointer.startswith("/graph/nodes/0") for p in problems)
    assert all("\n" not in p.as_text() for p in problems)

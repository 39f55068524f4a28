"""The README's flow reference is generated (controller/flowdoc.py) and cannot drift."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import run_module

from controller import flowdoc
from controller.flows.loader import load_flow_text
from controller.flows.schema import flow_schema
from controller.nodes import NODE_TYPES
from controller.nodes.condition import OPERATORS
from controller.nodes.hangup import HANGUP_TYPES
from controller.templates import SYSTEM_VARIABLES

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DEFS = flow_schema()["$defs"]


@pytest.fixture(scope="module")
def rendered() -> str:
    return flowdoc.render()


def run_flowdoc(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("controller.flowdoc", *args, timeout=60)


def field_names(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property name a config can hold, nested objects as dotted names."""
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].removeprefix("#/$defs/")]
    for name, sub in schema.get("properties", {}).items():
        if sub:
            yield prefix + name
            if sub.get("type") == "object":
                yield from field_names(sub, f"{prefix}{name}.")
    branches = [schema[key] for key in ("then", "else") if key in schema]
    for part in [*schema.get("allOf", ()), *branches]:
        yield from field_names(part, prefix)


def test_the_readme_section_is_the_rendered_reference(rendered: str) -> None:
    assert flowdoc.section(README.read_text(encoding="utf-8")) == rendered, (
        "README.md's flow reference is out of date: run `make docs`"
    )


@pytest.mark.parametrize("name", list(NODE_TYPES))
def test_every_node_type_output_and_config_field_is_documented(name: str, rendered: str) -> None:
    node_type = NODE_TYPES[name]
    assert f"#### `{name}`" in rendered
    assert node_type.summary in rendered
    for output in node_type.outputs:
        assert f"`{output}`" in rendered
    names = set(field_names(DEFS[f"{name}.config"]))
    assert names == {field for field, _, _ in flowdoc.fields(DEFS[f"{name}.config"], DEFS)}
    for field in names:
        assert f"| `{field}` |" in rendered, field


def test_nested_objects_are_flattened(rendered: str) -> None:
    for field in (
        "amd.initialSilence",
        "amd.waitForBeep",
        "singleDigitConfig.allowedDigits",
        "multiDigitConfig.interDigitTimeout",
        "settings.language",
        "graph.startNodeId",
    ):
        assert f"| `{field}` |" in rendered


def test_condition_rules_are_walked_through_ref_and_if_then_else() -> None:
    config = DEFS["condition.config"]
    assert [name for name, _, _ in flowdoc.fields(config, DEFS)] == [
        "all",
        "any",
        "variable",
        "operator",
        "value",
    ]


def test_defaults_and_required_fields_are_rendered(rendered: str) -> None:
    assert "| `timeout` | integer, 1000 to 300000 | `30000` |" in rendered
    assert '| `destination` | string | `"{{contact.phone}}"` |' in rendered
    assert "| `gateway` | string \\| null | `null` |" in rendered
    assert "| `audioItems` | list of [audio items](#audio-items) | required |" in rendered
    assert "| `label` | string | — |" in rendered


def test_audio_items_value_sources_and_tables(rendered: str) -> None:
    for kind in ("audioFile", "number", "date", "word"):
        assert f"#### `{kind}`" in rendered
    for field in ("audioId", "mode", "currency", "format", "language"):
        assert f"| `{field}` |" in rendered
    for shape in (
        "{source: variable, variable: <variable>}",
        "{source: contact, field: <field>}",
        "{source: customAttribute, attributeName: <attributeName>}",
    ):
        assert shape in rendered
    for operator in OPERATORS:
        assert f"| `{operator}` |" in rendered
    for kind, cause in HANGUP_TYPES.items():
        assert f"| `{kind}` | `{cause}` |" in rendered
    for name in SYSTEM_VARIABLES:
        assert f"`sys.{name}`" in rendered


def test_every_problem_code_is_explained(rendered: str) -> None:
    codes = flowdoc.rule_codes()
    assert set(codes) == set(flowdoc.RULES), (
        "add or remove entries in controller.flows.problems.RULES"
    )
    assert codes["unreachable-node"] == "error"
    assert codes["unhandled-dial-outcome"] == "warning"
    for code in codes:
        assert f"| `{code}` | {flowdoc.RULES[code]}" in rendered


def test_the_skeleton_is_a_valid_flow() -> None:
    result = load_flow_text(flowdoc.SKELETON, flow_id="skeleton", is_json=False, source="doc")
    assert result.valid, [p.as_text() for p in result.problems]


def test_check_passes_on_the_real_readme() -> None:
    result = run_flowdoc("--check", "README.md")
    assert result.returncode == 0, result.stderr


def test_check_fails_on_a_modified_copy_and_write_repairs_it(tmp_path: Path) -> None:
    copy = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    copy.write_text(text.replace("| `enableAMD` |", "| `enableAmd` |"), encoding="utf-8")
    result = run_flowdoc("--check", str(copy))
    assert result.returncode == 1
    assert "make docs" in result.stderr
    assert run_flowdoc("--write", str(copy)).returncode == 0
    assert copy.read_text(encoding="utf-8") == text


def test_missing_markers_are_a_usage_error(tmp_path: Path) -> None:
    copy = tmp_path / "README.md"
    copy.write_text("# no reference here\n", encoding="utf-8")
    result = run_flowdoc("--check", str(copy))
    assert result.returncode == 2
    assert "markers not found" in result.stderr

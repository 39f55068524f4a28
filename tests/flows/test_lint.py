"""The lint corpus: every file in tests/fixtures/lint has one planted problem, and lint finds
exactly it (tests/fixtures/lint.expected.yaml); the example flows in flows/ have none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.flows.lint import LINT_RULES, SEVERITIES, Finding, lint_flow
from controller.flows.loader import discover, load_flow_file
from controller.flows.model import Flow
from controller.flows.problems import RULES, Severity
from controller.flows.validate import validate_document

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "lint"
AUDIO = REPO / "tests" / "fixtures" / "audio"
EXPECTED: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (REPO / "tests" / "fixtures" / "lint.expected.yaml").read_text(encoding="utf-8")
)
EXAMPLES = discover([REPO / "flows"])  # flow files only, not the scenario files beside them


def _lint(path: Path, audio: Path) -> list[Finding]:
    result = load_flow_file(path, audio_root=audio)
    assert result.flow is not None, [p.as_text() for p in result.problems]
    return lint_flow(result.flow, file=str(path))


def _key(finding: dict[str, Any]) -> tuple[Any, ...]:
    return (finding["code"], finding["node"], finding["pointer"], finding["severity"])


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in CORPUS.iterdir()}
    assert on_disk == set(EXPECTED)


def test_every_rule_has_a_fixture() -> None:
    planted = {finding["code"] for findings in EXPECTED.values() for finding in findings}
    assert planted == set(LINT_RULES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_lint_finds_the_planted_problem(name: str) -> None:
    path = CORPUS / name
    # valid, and validation has nothing to say: the problem is lint's alone
    assert load_flow_file(path, audio_root=AUDIO).problems == []
    actual = [f.as_dict() for f in _lint(path, AUDIO)]
    expected = EXPECTED[name]
    assert sorted(map(_key, actual)) == sorted(map(_key, expected))
    for want in expected:
        [got] = [f for f in actual if _key(f) == _key(want)]
        if "path" in want:
            assert got["path"] == want["path"], got
            assert len(got["outputs"]) == len(got["path"]) - 1
        if "message_contains" in want:
            assert want["message_contains"] in got["message"], got
        assert got["file"] == str(path) and "\n" not in got["message"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_lint_finds_nothing_in_the_example_flows(path: Path) -> None:
    assert [f.as_text() for f in _lint(path, REPO / "audio")] == []


def test_codes_and_severities() -> None:
    assert set(SEVERITIES) == set(LINT_RULES)
    assert SEVERITIES["loop-without-exit"] is Severity.ERROR
    # lint codes never reuse a validation code: a code names one rule
    assert not set(LINT_RULES) & set(RULES)


def test_every_rule_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, meaning in LINT_RULES.items():
        assert f"| `{code}` | {SEVERITIES[code]} | {meaning} |" in readme, code


def test_text_is_one_line_with_the_path_and_its_outputs() -> None:
    [finding] = _lint(CORPUS / "read-before-set.yaml", AUDIO)
    assert finding.as_text() == (
        f"{CORPUS / 'read-before-set.yaml'}: note: /graph/nodes/2/config/value: warning: "
        "variable 'choice' is read here but not set on every path that leads here (it will "
        "be empty); this one never sets it [read-before-set]; "
        "path: answer -onSuccess-> menu -onTimeout-> note"
    )


def test_a_flow_without_labels_is_linted_once_per_node() -> None:
    document = {
        "name": "t",
        "graph": {
            "startNodeId": "a",
            "nodes": [
                {"id": "a", "type": "answer", "outputs": {"onSuccess": "b"}},
                {"id": "b", "type": "hangup", "label": "  "},
            ],
        },
    }
    data, problems = validate_document(document)
    assert problems == []
    flow = Flow.from_document(data, flow_id="t", version="0")
    assert [(f.code, f.node) for f in lint_flow(flow)] == [
        ("missing-label", "a"),
        ("missing-label", "b"),
    ]

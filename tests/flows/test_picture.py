"""Pictures of flows: golden Mermaid and DOT for the guide's flow, hostile labels, coverage."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from controller.flows.loader import load_flow_data, load_flow_file
from controller.flows.model import Flow
from controller.flows.picture import dot_text, edges, mermaid_text, render, taken_counts

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "graph"
HOSTILE = [
    '"]) --> x[<b>pwned</b>] %% ; click n0 "javascript:alert(1)"',
    "#quot; #35; |pipe| `md` {curly} end style:#f00; classDef x fill:#000;",
    'back\\slash \\n \\" \\l \\N',
    "two\nlines\tand a \x07 bell",
    "été مرحبا → 🎉 & <script>alert(1)</script>",
]


def _payment_reminder() -> Flow:
    result = load_flow_file(REPO / "flows" / "payment-reminder.yaml")
    assert result.flow is not None
    return result.flow


def _flow_with_labels(*labels: str) -> Flow:
    nodes: list[dict[str, Any]] = [
        {"id": f"n{i}", "type": "answer", "label": label, "outputs": {"onSuccess": f"n{i + 1}"}}
        for i, label in enumerate(labels)
    ]
    nodes.append({"id": f"n{len(labels)}", "type": "hangup", "label": labels[0]})
    document = {"name": "t", "graph": {"startNodeId": "n0", "nodes": nodes}}
    result = load_flow_data(document, flow_id="t")
    assert result.flow is not None
    return result.flow


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_the_payment_reminder_matches_its_golden_file(fmt: str) -> None:
    suffix = {"mermaid": "mmd", "dot": "dot"}[fmt]
    golden = (GOLDEN / f"payment-reminder.{suffix}").read_text(encoding="utf-8")
    assert render(_payment_reminder(), fmt) == golden


def test_nodes_edges_start_and_terminals_are_shown() -> None:
    text = render(_payment_reminder(), "mermaid")
    assert 'n0["Call Customer<br/>dial-1 (dial)"]' in text
    assert "start --> n0" in text
    assert 'n2 -->|"1"| n3' in text and 'n2 -->|"onTimeout"| n9' in text  # digit branches
    assert 'n5(["End Call - Success<br/>hangup-success (hangup)"])' in text
    assert "class n5,n6,n7,n8,n9 terminal" in text
    dot = render(_payment_reminder(), "dot")
    assert 'n0 -> n1 [label="onAnswer"];' in dot and "start -> n0;" in dot
    assert 'n5 [label="End Call - Success\\nhangup-success (hangup)", style="rounded,filled"' in dot


def _decode_mermaid(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


@pytest.mark.parametrize("label", HOSTILE)
def test_mermaid_labels_cannot_break_out(label: str) -> None:
    escaped = mermaid_text(label)
    assert re.fullmatch(r"(?:[\w \-.,?!'()/+=@*]|#\d+;)*", escaped), escaped
    assert _decode_mermaid(escaped) == " ".join(
        "".join(c if c.isprintable() else " " for c in label).split()
    )
    text = render(_flow_with_labels(label, "plain"), "mermaid")
    node_lines = [line for line in text.splitlines() if line.startswith("    n")]
    # one line per node, one per edge: nothing the label holds became a statement of its own
    assert len(node_lines) == 3 + 2


@pytest.mark.parametrize("label", HOSTILE)
def test_dot_labels_cannot_break_out(label: str) -> None:
    escaped = dot_text(label)
    # every quote is escaped, and no backslash is left to start an escape of its own
    assert re.fullmatch(r'(?:[^"\\\n]|\\\\|\\")*', escaped), escaped
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    assert unescaped == " ".join("".join(c if c.isprintable() else " " for c in label).split())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_draws_hostile_labels_as_text() -> None:
    flow = _flow_with_labels(*HOSTILE)
    done = subprocess.run(
        ["dot", "-Tsvg"],
        input=render(flow, "dot"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "<script>" not in done.stdout and "&lt;script&gt;" in done.stdout
    assert done.stdout.count('class="node"') == len(HOSTILE) + 2  # the start marker too


COVERAGE = {
    "dial-1": {"onAnswer": 3, "onBusy": 1, "onNoAnswer": 0},
    "play-greeting": {"onComplete": 3},
    "collect-response": {"1": 2, "branches.2": 1},  # a bare key or branches.<key>
    "play-confirmed": {"onComplete": 2},
    "no-such-node": {"onComplete": 5},
}


def test_coverage_counts_edges_as_the_flow_wires_them() -> None:
    counts = taken_counts(_payment_reminder(), COVERAGE)
    assert counts == {
        ("dial-1", "onAnswer"): 3,
        ("dial-1", "onBusy"): 1,
        ("play-greeting", "onComplete"): 3,
        ("collect-response", "branches.1"): 2,
        ("collect-response", "branches.2"): 1,
        ("play-confirmed", "onComplete"): 2,
    }


def test_an_output_that_went_by_default_counts_for_default() -> None:
    document = {
        "name": "t",
        "graph": {
            "startNodeId": "a",
            "nodes": [
                {"id": "a", "type": "answer", "outputs": {"default": "b"}},
                {"id": "b", "type": "hangup"},
            ],
        },
    }
    result = load_flow_data(document, flow_id="t")
    assert result.flow is not None
    assert taken_counts(result.flow, {"a": {"onSuccess": 4}}) == {("a", "default"): 4}
    assert taken_counts(result.flow, {"a": {"onError": 4}}) == {}  # never by default


def test_untaken_edges_are_dashed_red_with_a_legend() -> None:
    flow = _payment_reminder()
    text = render(flow, "mermaid", COVERAGE)
    untaken = [
        position + 1  # the start marker's link is 0
        for position, edge in enumerate(edges(flow))
        if (edge.source, edge.wire) not in taken_counts(flow, COVERAGE)
    ]
    assert untaken == [2, 3, 8, 10]  # onVoicemail, onNoAnswer, onTimeout, callback onComplete
    assert "    linkStyle 2,3,8,10 stroke:#d62728" in text
    assert 'n0 -->|"onAnswer (3)"| n1' in text
    assert "outputs no scenario took (4 of 10)" in _decode_mermaid(text)
    dot = render(flow, "dot", COVERAGE)
    assert 'n0 -> n6 [label="onVoicemail", style=dashed, color="#d62728"' in dot
    assert 'n0 -> n1 [label="onAnswer (3)"];' in dot
    assert 'label="dashed red: outputs no scenario took (4 of 10), (n): times taken";' in dot


def test_nothing_taken_marks_every_edge() -> None:
    text = render(_payment_reminder(), "mermaid", {})
    assert "linkStyle 1,2,3,4,5,6,7,8,9,10 " in text


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="mermaid, dot"):
        render(_payment_reminder(), "png")

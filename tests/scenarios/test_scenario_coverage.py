"""Output coverage: which wired outputs a record's steps took, per flow, and its JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.flows.loader import load_flow_file
from controller.flows.model import Flow
from controller.records import CallRecord, Step
from controller.scenarios.coverage import as_json, edge_taken, measure, table, wired_outputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ivr() -> Flow:
    flow = load_flow_file(REPO / "flows" / "inbound-ivr.yaml").flow
    assert flow is not None
    return flow


def record(*steps: tuple[str, str | None, str | None]) -> CallRecord:
    return CallRecord(
        callId="c", path=[Step(nodeId=n, type="x", output=o, next=t) for n, o, t in steps]
    )


def test_wired_outputs_list_branches_as_the_engine_names_them(ivr: Flow) -> None:
    assert wired_outputs(ivr.nodes["menu"]) == [
        "onMaxRetries",
        "onError",
        "branches.1",
        "branches.2",
        "branches.0",
    ]
    assert wired_outputs(ivr.nodes["hangup"]) == []


def test_the_edge_a_step_took(ivr: Flow) -> None:
    welcome, menu, say = ivr.nodes["welcome"], ivr.nodes["menu"], ivr.nodes["say-balance"]
    # play's onComplete is not wired: it fell back to default
    assert edge_taken(welcome, Step("welcome", "play", "onComplete", "menu")) == "default"
    assert edge_taken(menu, Step("menu", "dtmf", "branches.2", "record-intro")) == "branches.2"
    assert edge_taken(say, Step("say-balance", "play", "onError", "goodbye")) == "onError"
    # onError never falls back to default; a hangup in the node took no edge
    assert edge_taken(welcome, Step("welcome", "play", "onError", None)) is None
    assert edge_taken(menu, Step("menu", "dtmf", "hangup", None)) is None


def test_coverage_counts_and_percent(ivr: Flow) -> None:
    calls = [
        record(
            ("answer", "onSuccess", "welcome"),
            ("welcome", "onComplete", "menu"),
            ("menu", "branches.0", "callback-noted"),
            ("callback-noted", "onSuccess", "thanks"),
            ("thanks", "onComplete", "hangup"),
            ("hangup", None, None),
        ),
        record(("answer", "onSuccess", "welcome"), ("welcome", "hangup", None)),
    ]
    coverage = measure(
        {"inbound-ivr": ivr},
        [("inbound-ivr", calls[0]), ("inbound-ivr", calls[1]), ("inbound-ivr", None)],
        tested={"inbound-ivr"},
    )["inbound-ivr"]
    assert coverage.scenarios == 3
    assert coverage.taken["answer"] == {"onSuccess": 2}
    assert coverage.taken["menu"]["branches.0"] == 1 and coverage.taken["menu"]["branches.1"] == 0
    assert (coverage.covered, coverage.total) == (5, 18)
    assert coverage.percent == 27.8
    assert "menu.branches.1" in coverage.missed()
    [header, row, missed] = table({"inbound-ivr": coverage})
    assert header.split() == ["flow", "scenarios", "outputs", "taken", "cover"]
    assert row.split() == ["inbound-ivr", "3", "18", "5", "27.8%"]
    assert missed.startswith("  not taken: menu.onMaxRetries, menu.onError, menu.branches.1")


def test_the_json_shape_graph_reads(ivr: Flow) -> None:
    coverage = measure({"inbound-ivr": ivr}, [], tested=set())
    data = json.loads(json.dumps(as_json(coverage)))
    assert list(data) == ["flows"]
    entry = data["flows"]["inbound-ivr"]
    assert set(entry) == {"taken", "wired", "percent"}
    assert entry["wired"]["has-balance"] == ["onTrue", "onFalse"]
    assert entry["taken"]["has-balance"] == {"onTrue": 0, "onFalse": 0}
    assert "hangup" not in entry["wired"]
    assert entry["percent"] == 0.0
    assert coverage["inbound-ivr"].untested
    assert (
        table(coverage)[-1] == "  inbound-ivr: no scenarios (add inbound-ivr.test.yaml beside it)"
    )

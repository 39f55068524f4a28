"""Output coverage: which wired outputs of which nodes the scenarios' calls took, per flow.

A flow's *wired outputs* are the keys of its nodes' `outputs`, a dtmf node's branches written
`branches.<key>` (as the engine and the call record name them). A step *took* a wired output
when the node returned it, or returned an unwired one that fell back to a wired `default`
(the engine's rule; `onError` never falls back). A step that ended the call (a hangup during
the node, an unwired output) took no edge. Coverage is the share of wired outputs taken at
least once; a flow with no wired output is fully covered.

`--coverage-json` writes, for `callflow graph --coverage` and other tools:

    {"flows": {"<flow id>": {"taken": {"<node id>": {"<output>": <count>}},
                             "wired": {"<node id>": ["<output>", ...]},
                             "percent": <float>}}}

`taken` lists every wired output of every node with wired outputs, with 0 when never taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from controller.flows.model import Flow, Node
from controller.nodes.base import DEFAULT_OUTPUT, ERROR_OUTPUT
from controller.records import CallRecord, Step


def wired_outputs(node: Node) -> list[str]:
    """The node's wired outputs in the order the flow lists them, branches as branches.<k>."""
    return [*node.outputs, *(f"branches.{key}" for key in node.branches)]


def edge_taken(node: Node, step: Step) -> str | None:
    """The wired output a step of `node` followed, or None when it followed none."""
    output = step.output
    if not output or step.next is None:
        return None
    if output.startswith("branches."):
        if output[9:] in node.branches:
            return output
    elif output in node.outputs:
        return output
    if output != ERROR_OUTPUT and DEFAULT_OUTPUT in node.outputs:
        return DEFAULT_OUTPUT
    return None


@dataclass(slots=True)
class FlowCoverage:
    flow_id: str
    wired: dict[str, list[str]]
    taken: dict[str, dict[str, int]]
    scenarios: int = 0
    source: str = ""
    untested: bool = field(default=False)  # no scenario file tests this flow

    @property
    def total(self) -> int:
        return sum(len(outputs) for outputs in self.wired.values())

    @property
    def covered(self) -> int:
        return sum(1 for node in self.taken.values() for count in node.values() if count)

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * self.covered / self.total, 1)

    def missed(self) -> list[str]:
        return [
            f"{node_id}.{output}"
            for node_id, outputs in self.taken.items()
            for output, count in outputs.items()
            if not count
        ]

    def add(self, flow: Flow, record: CallRecord) -> None:
        for step in record.path:
            node = flow.nodes.get(step.nodeId)
            edge = edge_taken(node, step) if node is not None else None
            if edge is not None and step.nodeId in self.taken:
                self.taken[step.nodeId][edge] = self.taken[step.nodeId].get(edge, 0) + 1


def empty_coverage(flow: Flow, *, source: str = "") -> FlowCoverage:
    wired = {node.id: wired_outputs(node) for node in flow.nodes.values() if wired_outputs(node)}
    taken = {node_id: dict.fromkeys(outputs, 0) for node_id, outputs in wired.items()}
    return FlowCoverage(flow.id, wired, taken, source=source)


def measure(
    flows: dict[str, Flow], runs: Iterable[tuple[str, CallRecord | None]], *, tested: set[str]
) -> dict[str, FlowCoverage]:
    """Coverage of every flow in `flows` from (flow id, record) pairs; flows not in `tested`
    had no scenario file at all."""
    result = {flow_id: empty_coverage(flow) for flow_id, flow in sorted(flows.items())}
    for flow_id, record in runs:
        coverage = result.get(flow_id)
        if coverage is None:
            continue
        coverage.scenarios += 1
        if record is not None:
            coverage.add(flows[flow_id], record)
    for flow_id, coverage in result.items():
        coverage.untested = flow_id not in tested
    return result


def as_json(coverage: dict[str, FlowCoverage]) -> dict[str, Any]:
    return {
        "flows": {
            flow_id: {"taken": c.taken, "wired": c.wired, "percent": c.percent}
            for flow_id, c in coverage.items()
        }
    }


def table(coverage: dict[str, FlowCoverage]) -> list[str]:
    """The coverage table printed after a run, with what was never taken."""
    if not coverage:
        return []
    width = max(len("flow"), *(len(flow_id) for flow_id in coverage)) + 2
    lines = [f"{'flow':<{width}}{'scenarios':>10}{'outputs':>9}{'taken':>7}{'cover':>8}"]
    for flow_id, c in coverage.items():
        lines.append(
            f"{flow_id:<{width}}{c.scenarios:>10}{c.total:>9}{c.covered:>7}{c.percent:>7.1f}%"
        )
        if c.untested:
            lines.append(f"  {flow_id}: no scenarios (add {flow_id}.test.yaml beside it)")
        elif c.missed():
            lines.append(f"  not taken: {', '.join(c.missed())}")
    return lines

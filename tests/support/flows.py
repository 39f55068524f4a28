"""Small flows for unit tests, and what validation says about them."""

from __future__ import annotations

from typing import Any

from controller.flows.loader import load_flow_data


def one_node_flow(
    node_type: str, config: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A flow whose start node is the node under test; every output it names ends at hangup."""
    node: dict[str, Any] = {"id": "n", "type": node_type}
    if config is not None:
        node["config"] = config
    if outputs is not None:
        node["outputs"] = outputs
    return {
        "name": "test",
        "graph": {
            "startNodeId": "n",
            "nodes": [node, {"id": "end", "type": "hangup"}],
        },
    }


def problems_of(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(severity, code, pointer) of every problem validation finds in `document`."""
    result = load_flow_data(document, flow_id="test")
    return [(str(p.severity), p.code, p.pointer) for p in result.problems]


def loaded_config(document: dict[str, Any], node_id: str = "n") -> dict[str, Any]:
    """The config of `node_id` after validation and defaults; fails if the flow is invalid."""
    result = load_flow_data(document, flow_id="test")
    assert result.flow is not None, [p.as_text() for p in result.problems]
    return result.flow.nodes[node_id].config

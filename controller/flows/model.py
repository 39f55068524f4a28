"""A validated flow as the engine runs it: immutable, defaults applied, version pinned."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str
    label: str
    config: dict[str, Any]
    outputs: dict[str, str]
    branches: dict[str, str] = field(default_factory=dict)


# weakref_slot: the flow store keeps an old version only while something (a call, a
# program's runner) still refers to it (controller.flowstore, `_versions`).
@dataclass(frozen=True, slots=True, weakref_slot=True)
class Flow:
    id: str
    name: str
    description: str
    version: str  # sha256 of the source bytes, first 12 hex digits: changes with any edit
    settings: dict[str, Any]
    start_node_id: str
    nodes: MappingProxyType[str, Node]
    source: str = ""

    @classmethod
    def from_document(
        cls, data: dict[str, Any], *, flow_id: str, version: str, source: str = ""
    ) -> Flow:
        """Build from a document that validated without errors (defaults already applied)."""
        nodes = {}
        for raw in data["graph"]["nodes"]:
            outputs = dict(raw["outputs"])
            branches = outputs.pop("branches", {})
            nodes[raw["id"]] = Node(
                id=raw["id"],
                type=raw["type"],
                label=raw.get("label", ""),
                config=raw["config"],
                outputs=outputs,
                branches=dict(branches),
            )
        return cls(
            id=flow_id,
            name=data["name"],
            description=data["description"],
            version=version,
            settings=data["settings"],
            start_node_id=data["graph"]["startNodeId"],
            nodes=MappingProxyType(nodes),
            source=source,
        )

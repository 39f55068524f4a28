"""Checks on the flow as a graph: ids, references, reachability, and loops with no way out.

How a call leaves a node (the engine's rules, which these checks mirror): a wired output
goes to its node; an output that is not wired goes to `default` when that is wired, and
otherwise ends the call. `onError` never falls back to `default`: an unwired error ends the
call with the error recorded. So a node *can finish* when it is terminal (hangup) or when one
of its non-error outputs is unwired and `default` is not. A reachable node from which no
finishing node can be reached is a loop that only the step cap would stop.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from controller.flows.problems import Problem, error, pointer_of
from controller.nodes import NODE_TYPES
from controller.nodes.base import DEFAULT_OUTPUT, ERROR_OUTPUT


@dataclass(frozen=True, slots=True)
class GraphNode:
    index: int
    id: str
    type: str | None  # None when the type is unknown
    outputs: dict[str, Any]

    @property
    def pointer(self) -> str:
        return f"/graph/nodes/{self.index}"

    def edges(self) -> Iterator[tuple[str, str, Any]]:
        """(pointer, output name, target) for every wired output, branches included."""
        for name, target in self.outputs.items():
            if name == "branches" and isinstance(target, dict):
                for key, branch_target in target.items():
                    yield (
                        pointer_of("graph", "nodes", self.index, "outputs", "branches", key),
                        (f"branches.{key}"),
                        branch_target,
                    )
            else:
                yield pointer_of("graph", "nodes", self.index, "outputs", name), name, target


def collect_nodes(data: Any) -> list[GraphNode] | None:
    """The nodes whose id is usable, or None when the graph is too broken to analyse."""
    graph = data.get("graph") if isinstance(data, dict) else None
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list):
        return None
    result = []
    for index, raw in enumerate(nodes):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            continue
        node_type = raw.get("type")
        outputs = raw.get("outputs")
        result.append(
            GraphNode(
                index=index,
                id=raw["id"],
                type=node_type if isinstance(node_type, str) and node_type in NODE_TYPES else None,
                outputs=outputs if isinstance(outputs, dict) else {},
            )
        )
    return result


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_graph(data: dict[str, Any], nodes: list[GraphNode]) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, GraphNode] = {}
    for node in nodes:
        if node.id in by_id:
            problems.append(
                error(
                    "duplicate-node-id",
                    f"node id {node.id!r} is already used by node {by_id[node.id].index}",
                    pointer=node.pointer + "/id",
                )
            )
        else:
            by_id[node.id] = node
    ids = list(by_id)
    raw_nodes = data["graph"]["nodes"]
    for node in nodes:
        raw_type = raw_nodes[node.index].get("type")
        if node.type is None and isinstance(raw_type, str):
            problems.append(
                error(
                    "unknown-node-type",
                    f"unknown node type {raw_type!r}{_suggest(raw_type, list(NODE_TYPES))}; "
                    f"node types are: {', '.join(NODE_TYPES)}",
                    pointer=node.pointer + "/type",
                )
            )
        problems.extend(_check_outputs(node, by_id, ids))

    start = data["graph"].get("startNodeId")
    if isinstance(start, str) and start not in by_id and by_id:
        problems.append(
            error(
                "missing-start-node",
                f"startNodeId {start!r} is not the id of any node{_suggest(start, ids)}",
                pointer="/graph/startNodeId",
            )
        )
        return problems
    if not isinstance(start, str) or start not in by_id:
        return problems
    reachable = _reachable(start, by_id)
    for node in nodes:
        if node.id not in reachable and by_id.get(node.id) is node:
            problems.append(
                error(
                    "unreachable-node",
                    f"node {node.id!r} can never run: no path from the start node "
                    f"{start!r} leads to it",
                    pointer=node.pointer,
                )
            )
    problems.extend(_check_traps(reachable, by_id, nodes))
    return _drop_consequences(problems)


def _drop_consequences(problems: list[Problem]) -> list[Problem]:
    """A misspelt target makes the nodes behind it look unreachable: report the typo only."""
    if any(p.code == "unknown-target" for p in problems):
        return [p for p in problems if p.code != "unreachable-node"]
    return problems


def _check_outputs(
    node: GraphNode, by_id: dict[str, GraphNode], ids: list[str]
) -> Iterator[Problem]:
    if node.type is None:
        return
    node_type = NODE_TYPES[node.type]
    if node_type.terminal and node.outputs:
        yield error(
            "terminal-has-outputs",
            f"{node.type} is a terminal node: it ends the call and takes no outputs "
            f"(remove {', '.join(node.outputs)})",
            pointer=node.pointer + "/outputs",
        )
        return
    allowed = list(node_type.outputs) + (["branches"] if node_type.has_branches else [])
    for name in node.outputs:
        if name not in allowed:
            yield error(
                "unknown-output",
                f"{name!r} is not an output of {node.type} nodes{_suggest(name, allowed)}; "
                f"{node.type} outputs are: {', '.join(allowed)}",
                pointer=pointer_of("graph", "nodes", node.index, "outputs", name),
            )
    for pointer, name, target in node.edges():
        if name.split(".")[0] not in allowed:
            continue
        if isinstance(target, str) and target not in by_id:
            yield error(
                "unknown-target",
                f"output {name} points to {target!r}, which is not the id of any node"
                f"{_suggest(target, ids)}",
                pointer=pointer,
            )


def _targets(node: GraphNode, by_id: dict[str, GraphNode]) -> Iterator[str]:
    for _, _, target in node.edges():
        if isinstance(target, str) and target in by_id:
            yield target


def _reachable(start: str, by_id: dict[str, GraphNode]) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for target in _targets(by_id[queue.popleft()], by_id):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _can_finish(node: GraphNode, by_id: dict[str, GraphNode]) -> bool:
    if node.type is None:
        return True  # already an error; don't pile a second one on it
    if any(isinstance(t, str) and t not in by_id for _, _, t in node.edges()):
        return True  # a dangling reference, already reported as unknown-target
    node_type = NODE_TYPES[node.type]
    if node_type.terminal:
        return True
    if DEFAULT_OUTPUT in node.outputs:
        return False
    exits = [o for o in node_type.outputs if o not in (ERROR_OUTPUT, DEFAULT_OUTPUT)]
    return any(output not in node.outputs for output in exits)


def _check_traps(
    reachable: set[str], by_id: dict[str, GraphNode], nodes: list[GraphNode]
) -> Iterator[Problem]:
    incoming: dict[str, list[str]] = {node_id: [] for node_id in by_id}
    for node in by_id.values():
        for target in _targets(node, by_id):
            incoming[target].append(node.id)
    finishing = {node_id for node_id, node in by_id.items() if _can_finish(node, by_id)}
    queue = deque(finishing)
    while queue:
        for source in incoming[queue.popleft()]:
            if source not in finishing:
                finishing.add(source)
                queue.append(source)
    trapped = [
        n for n in nodes if n.id in reachable and n.id not in finishing and by_id.get(n.id) is n
    ]
    if trapped:
        names = ", ".join(repr(n.id) for n in trapped)
        yield error(
            "endless-loop",
            f"no hangup can be reached from here: the call would loop forever through {names}; "
            "wire an output to a hangup (or leave one unwired to end the call)",
            pointer=trapped[0].pointer,
        )

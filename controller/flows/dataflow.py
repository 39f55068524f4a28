"""Which flow variables are certainly set when a node runs: a forward "definitely assigned"
analysis over the routes a call can take (`controller.flows.routes`).

At the start of a call no flow variable is set: `sys.*` and `contact.*` are supplied by the
runtime (`controller.call.Call.lookup`), and a call resumed after its dial carries only the
variables set before that dial. A variable becomes set on the routes out of a node that writes
it: set_variable on onSuccess, record on onComplete and onTimeout (it stores the path before
recording), dtmf on onSuccess and its branches (not on a timeout, an invalid entry, or
onError). A condition also tells what is set: onTrue of `exists x` means x is set, and so on
(`_guards`). A read of a variable not set on every path into its node is reported with one
such path, the shortest, found by a search that avoids every route that sets it.

Reads counted: `{{ }}` placeholders in a node's templates, value sources, and condition
variables — except the existence tests (`exists`, `notExists`, `isEmpty`, `isNotEmpty`),
whose whole point is to look at a variable that may be unset.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from controller.flows.model import Flow, Node
from controller.flows.routes import DTMF_FAILURES, reachable, routes
from controller.nodes import NODE_TYPES
from controller.nodes.base import ERROR_OUTPUT
from controller.nodes.condition import NUMERIC, UNARY, comparisons
from controller.templates import NAMESPACES, TemplateError, placeholders

Step = tuple[str, str | None]  # (node id, the output taken to the next step; None: last)


@dataclass(frozen=True, slots=True)
class UnsetRead:
    node: str
    pointer: str  # inside the node's config, e.g. /audioItems/0/value
    variable: str
    path: tuple[Step, ...]  # from the start node to `node`, never setting `variable`


def flow_reads(node: Node) -> Iterator[tuple[str, str]]:
    """(pointer inside config, name) of every flow variable `node` reads when it runs."""
    node_type = NODE_TYPES[node.type]
    names: list[tuple[str, str]] = []
    for pointer, text in node_type.templates(node.config):
        with contextlib.suppress(TemplateError):  # a validation error; lint sees valid flows
            names.extend((pointer, name) for name in placeholders(text))
    if node.type == "condition":
        names.extend(
            (pointer + "/variable", rule["variable"])
            for pointer, rule in comparisons(node.config)
            if rule["operator"] not in UNARY
        )
    else:
        names.extend((read.pointer, read.name) for read in node_type.reads(node.config))
    for pointer, name in names:
        if name.partition(".")[0] not in NAMESPACES:
            yield pointer, name


def writes(node: Node) -> frozenset[str]:
    """Every flow variable `node` may set, on any output."""
    return frozenset(NODE_TYPES[node.type].writes(node.config))


def set_after(node: Node, output: str) -> frozenset[str]:
    """Flow variables certainly set once `node` has returned `output`."""
    if node.type == "condition" and output in ("onTrue", "onFalse"):
        return frozenset(_guards(node.config, output == "onTrue"))
    if output == ERROR_OUTPUT or (node.type == "dtmf" and output in DTMF_FAILURES):
        return frozenset()
    return writes(node)


def _flow_variable(name: str) -> bool:
    return name.partition(".")[0] not in NAMESPACES


def _guards(rule: dict[str, Any], outcome: bool) -> set[str]:
    """Variables certainly set when `rule` evaluated to `outcome` (onError aside).

    all/any evaluate left to right and stop early, so only what every way of reaching the
    outcome implies is kept: `all` true means every child was true; `all` false only that
    some child was false; and the reverse for `any`."""
    for group, unanimous in (("all", True), ("any", False)):
        if group in rule:
            children = [_guards(child, outcome) for child in rule[group]]
            if outcome is unanimous:
                return set().union(*children)
            return set.intersection(*children)
    name, operator = rule["variable"], rule["operator"]
    if not _flow_variable(name):
        return set()
    if operator in NUMERIC:
        return {name}  # an unset value is not a number: onError, never onTrue or onFalse
    if operator in ("exists", "isNotEmpty") and outcome:
        return {name}
    if operator in ("notExists", "isEmpty") and not outcome:
        return {name}
    value = rule.get("value")
    if operator == "equals" and outcome and _non_empty_literal(value):
        return {name}  # unset compares as '': equal to a non-empty literal means set
    listed = isinstance(value, list) and all(_non_empty_literal(item) for item in value)
    if operator == "in" and outcome and listed:
        return {name}
    return set()


def _non_empty_literal(value: Any) -> bool:
    if isinstance(value, str):
        return value != "" and "{{" not in value
    return value is not None


Edges = dict[str, list[tuple[str, str, frozenset[str]]]]  # node -> (wire, target, set after)


def _edges(flow: Flow) -> Edges:
    """Each node's routes to another node, with what is set once it is taken: computed once,
    as every search below walks them."""
    return {
        node_id: [
            (route.wire or "", route.target, set_after(flow.nodes[node_id], route.output))
            for route in routes(flow.nodes[node_id])
            if route.target is not None
        ]
        for node_id in flow.nodes
    }


def definitely_set(flow: Flow, edges: Edges | None = None) -> dict[str, frozenset[str]]:
    """For each reachable node, the flow variables set on every path that reaches it."""
    edges = _edges(flow) if edges is None else edges
    known: dict[str, frozenset[str]] = {flow.start_node_id: frozenset()}
    queue = deque([flow.start_node_id])
    while queue:
        node_id = queue.popleft()
        for _, target, assigned in edges[node_id]:
            out = known[node_id] | assigned
            before = known.get(target)
            after = out if before is None else before & out
            if after != before:
                known[target] = after
                queue.append(target)
    return known


def reads_before_set(flow: Flow) -> list[UnsetRead]:
    """Reads of a flow variable that some path reaches before any node sets it.

    Variables no node sets at all are left out: validation already warns about those
    (`unset-variable`)."""
    written = set().union(*(writes(node) for node in flow.nodes.values()))
    edges = _edges(flow)
    known = definitely_set(flow, edges)
    searches: dict[str, dict[str, Step | None]] = {}
    found = []
    for node_id in reachable(flow):
        for pointer, name in flow_reads(flow.nodes[node_id]):
            if name in written and name not in known[node_id]:
                if name not in searches:
                    searches[name] = _paths_without(flow.start_node_id, edges, name)
                path = _path_to(searches[name], node_id)
                found.append(UnsetRead(node_id, pointer, name, path))
    return found


def _paths_without(start: str, edges: Edges, name: str) -> dict[str, Step | None]:
    """A breadth-first search from the start that never takes a route setting `name`: for each
    node it reaches, the step that reached it first (so shortest paths)."""
    came_from: dict[str, Step | None] = {start: None}
    queue = deque([start])
    while queue:
        node_id = queue.popleft()
        for wire, target, assigned in edges[node_id]:
            if target not in came_from and name not in assigned:
                came_from[target] = (node_id, wire)
                queue.append(target)
    return came_from


def _path_to(came_from: dict[str, Step | None], goal: str) -> tuple[Step, ...]:
    steps: list[Step] = [(goal, None)]
    previous = came_from[goal]  # KeyError would mean the analysis and the search disagree
    while previous is not None:
        steps.append(previous)
        previous = came_from[previous[0]]
    return tuple(reversed(steps))


def describe(path: tuple[Step, ...]) -> str:
    """`a -onSuccess-> b -branches.1-> c`: a path as one line of text."""
    parts = []
    for node_id, wire in path:
        parts.append(node_id if wire is None else f"{node_id} -{wire}->")
    return " ".join(parts)

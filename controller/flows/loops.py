"""Loops a call can enter and never leave, beyond what validation's endless-loop check sees.

Validation (`controller.flows.graph`) counts every unwired output as a way to end the call and
every condition as able to go either way. Two things it cannot know make a loop closed all the
same:

- outputs the node never takes (`controller.flows.routes`): an unwired onTimeout on a menu
  whose failures end at onMaxRetries, an unwired onVoicemail on a dial without AMD;
- a condition deciding on variables that nothing in the loop changes (contact fields,
  `sys.*` other than `sys.now`, flow variables set only outside it): it decides the same way
  every time round, so a call that stayed in the loop once stays for good.

A loop is a strongly connected set of nodes (on the routes a call can take); it is closed when
no route out of it leaves the set or ends the call, other than through such fixed conditions.
An unwired onError is not a way out: it is a failure, as validation counts it. Each closed loop
is reported once, where the shortest path from the start enters it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from controller.flows.dataflow import Step, writes
from controller.flows.model import Flow, Node
from controller.flows.routes import Route, reachable, routes
from controller.nodes import NODE_TYPES
from controller.nodes.base import ERROR_OUTPUT
from controller.nodes.condition import comparisons
from controller.templates import placeholders


@dataclass(frozen=True, slots=True)
class ClosedLoop:
    nodes: tuple[str, ...]  # in the flow's order
    fixed_conditions: tuple[str, ...]  # conditions whose ways out never change inside it
    entry: Step | None  # (node outside the loop, output) that leads in; None: the start is in it
    path: tuple[Step, ...]  # start .. entry .. once round the loop, back to where it came in


def closed_loops(flow: Flow) -> list[ClosedLoop]:
    order = reachable(flow)
    edges = {node_id: _internal_routes(flow.nodes[node_id]) for node_id in order}
    found = []
    for component in _components(order, edges):
        if len(component) == 1:
            [only] = component
            if not any(route.target == only for route in edges[only]):
                continue  # a single node that does not loop onto itself
        fixed = _fixed_conditions(flow, component)
        exits = [
            node_id
            for node_id in component
            for route in routes(flow.nodes[node_id])
            if _leaves(route, component) and node_id not in fixed
        ]
        if exits:
            continue
        nodes = tuple(node_id for node_id in flow.nodes if node_id in component)
        entry, path = _way_in(flow, component)
        found.append(ClosedLoop(nodes, tuple(n for n in nodes if n in fixed), entry, path))
    return found


def _internal_routes(node: Node) -> list[Route]:
    return [route for route in routes(node) if route.target is not None]


def _leaves(route: Route, component: set[str]) -> bool:
    if route.target is None:
        return route.output != ERROR_OUTPUT
    return route.target not in component


def _fixed_conditions(flow: Flow, component: set[str]) -> set[str]:
    changed = set().union(*(writes(flow.nodes[node_id]) for node_id in component))
    fixed = set()
    for node_id in component:
        node = flow.nodes[node_id]
        if node.type != "condition":
            continue
        names = {rule["variable"] for _, rule in comparisons(node.config)}
        for _, text in NODE_TYPES["condition"].templates(node.config):
            names.update(placeholders(text))  # values too: `equals "{{sys.now}}"` changes
        if "sys.now" not in names and not names & changed:
            fixed.add(node_id)
    return fixed


def _components(order: list[str], edges: dict[str, list[Route]]) -> Iterator[set[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion: flows can be
    deeper than Python's stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in order:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node_id, position = work.pop()
            if position == 0:
                index[node_id] = low[node_id] = len(index)
                stack.append(node_id)
                on_stack.add(node_id)
            targets = [route.target for route in edges[node_id]]
            if position < len(targets):
                work.append((node_id, position + 1))
                target = targets[position]
                assert target is not None
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node_id] = min(low[node_id], index[target])
                continue
            if low[node_id] == index[node_id]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node_id:
                        break
                yield component
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node_id])


def _way_in(flow: Flow, component: set[str]) -> tuple[Step | None, tuple[Step, ...]]:
    """The shortest path from the start into `component`, then once round it."""
    came_from: dict[str, Step | None] = {flow.start_node_id: None}
    queue = deque([flow.start_node_id])
    head = flow.start_node_id if flow.start_node_id in component else None
    while queue and head is None:
        node = flow.nodes[queue.popleft()]
        for route in _internal_routes(node):
            assert route.target is not None
            if route.target not in came_from:
                came_from[route.target] = (node.id, route.wire)
                if route.target in component:
                    head = route.target
                    break
                queue.append(route.target)
    assert head is not None  # the component is reachable
    prefix: list[Step] = []
    previous = came_from[head]
    entry = previous
    while previous is not None:
        prefix.append(previous)
        previous = came_from[previous[0]]
    prefix.reverse()
    return entry, (*prefix, *_round(flow, component, head))


def _round(flow: Flow, component: set[str], head: str) -> list[Step]:
    """The shortest way from `head` back to itself inside `component`."""
    came_from: dict[str, Step] = {}
    queue = deque([head])
    while queue and head not in came_from:
        node = flow.nodes[queue.popleft()]
        for route in _internal_routes(node):
            if route.target in component and route.target not in came_from:
                came_from[route.target] = (node.id, route.wire)
                queue.append(route.target)
    steps: list[Step] = [(head, None)]
    current = head
    while True:
        step = came_from[current]
        steps.append(step)
        current = step[0]
        if current == head:
            break
    return list(reversed(steps))

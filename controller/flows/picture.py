"""A flow as a picture: Mermaid text (pastes into a README or a merge request) or Graphviz DOT.

Each node shows its label (its id when it has none), then its id and type; the start node is
pointed at by a `start` marker, and terminal nodes (hangup) have a shape of their own. Each
wired output is an edge labelled with its name; dtmf branches with their key. Unwired outputs
end the call and are not drawn.

With coverage (what scenario tests took: node id -> output -> count, see `untaken_edges`),
every edge no scenario took is drawn dashed and red, taken edges carry their count, and a
legend says so.

Labels and ids are user text. Mermaid: everything but letters, digits, spaces and a few safe
marks becomes an entity code (`#35;`), so no label can close its quotes, start markup or an
HTML tag. DOT: backslashes and quotes are escaped inside quoted strings. Line breaks and other
control characters in user text become spaces in both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from controller.flows.model import Flow, Node
from controller.flows.routes import BRANCH, wire_of
from controller.nodes import NODE_TYPES

FORMATS = ("mermaid", "dot")
Taken = Mapping[str, Mapping[str, int]]  # node id -> output (or branch key) -> times taken

UNTAKEN_COLOR = "#d62728"
# Not ':' either: Mermaid rewrites `style...:...#...;` and `classDef...` lines before parsing.
_MERMAID_SAFE = frozenset(" -_.,?!'()/+=@*")


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    wire: str  # the output as the flow spells it: onComplete, default, branches.1
    target: str

    @property
    def label(self) -> str:
        return self.wire[len(BRANCH) :] if self.wire.startswith(BRANCH) else self.wire


def edges(flow: Flow) -> list[Edge]:
    """Every wired output, node by node in the flow's order; a dtmf's branches first."""
    found = []
    for node in flow.nodes.values():
        for key, target in node.branches.items():
            found.append(Edge(node.id, BRANCH + key, target))
        for name, target in node.outputs.items():
            found.append(Edge(node.id, name, target))
    return found


def _wire_taken(node: Node, key: str) -> str | None:
    """The drawn edge a coverage key stands for: an output or `branches.<key>` as the flow
    spells it, a bare branch key, or an output the node returned that went by `default`."""
    if key in node.branches:
        return BRANCH + key
    return wire_of(node, key)


def taken_counts(flow: Flow, taken: Taken) -> dict[tuple[str, str], int]:
    """(node id, wire) -> how many times scenarios took that edge."""
    counts: dict[tuple[str, str], int] = {}
    for node_id, outputs in taken.items():
        node = flow.nodes.get(node_id)
        if node is None:
            continue  # a node since removed from the flow: nothing to draw
        for key, count in outputs.items():
            wire = _wire_taken(node, key)
            if wire is not None and count > 0:
                counts[(node_id, wire)] = counts.get((node_id, wire), 0) + count
    return counts


def _plain(text: str) -> str:
    """User text on one line: whitespace runs and control characters become one space."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())


def _node_lines(node: Node) -> tuple[str, str]:
    label = _plain(node.label)
    if label:
        return label, f"{_plain(node.id)} ({node.type})"
    return _plain(node.id), node.type


def _terminal(node: Node) -> bool:
    return NODE_TYPES[node.type].terminal


def render(flow: Flow, fmt: str, taken: Taken | None = None) -> str:
    counts = taken_counts(flow, taken) if taken is not None else None
    if fmt == "mermaid":
        return "\n".join(_mermaid(flow, counts)) + "\n"
    if fmt == "dot":
        return "\n".join(_dot(flow, counts)) + "\n"
    raise ValueError(f"unknown picture format {fmt!r}; formats: {', '.join(FORMATS)}")


def _edge_text(edge: Edge, counts: dict[tuple[str, str], int] | None) -> str:
    if counts is None or (edge.source, edge.wire) not in counts:
        return edge.label
    return f"{edge.label} ({counts[(edge.source, edge.wire)]})"


def _legend(all_edges: list[Edge], counts: dict[tuple[str, str], int]) -> str:
    missed = sum((e.source, e.wire) not in counts for e in all_edges)
    return f"dashed red: outputs no scenario took ({missed} of {len(all_edges)}), (n): times taken"


# -- Mermaid --------------------------------------------------------------------------------


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: safe characters as they are, the rest as
    entity codes (Mermaid's `#<decimal>;`)."""
    return "".join(
        ch if ch.isalnum() or ch in _MERMAID_SAFE else f"#{ord(ch)};" for ch in _plain(text)
    )


def _mermaid(flow: Flow, counts: dict[tuple[str, str], int] | None) -> Iterator[str]:
    names = {node_id: f"n{position}" for position, node_id in enumerate(flow.nodes)}
    yield "flowchart TD"
    yield '    start(("start"))'
    for node in flow.nodes.values():
        first, second = (mermaid_text(line) for line in _node_lines(node))
        text = f'"{first}<br/>{second}"'
        shape = f"([{text}])" if _terminal(node) else f"[{text}]"
        yield f"    {names[node.id]}{shape}"
    yield f"    start --> {names[flow.start_node_id]}"
    all_edges = edges(flow)
    for edge in all_edges:
        label = mermaid_text(_edge_text(edge, counts))
        yield f'    {names[edge.source]} -->|"{label}"| {names[edge.target]}'
    yield "    classDef startMarker fill:#333,stroke:#333,color:#fff"
    yield "    classDef terminal fill:#eee,stroke:#555,stroke-width:2px"
    yield "    class start startMarker"
    terminals = [names[n.id] for n in flow.nodes.values() if _terminal(n)]
    if terminals:
        yield f"    class {','.join(terminals)} terminal"
    if counts is not None:
        # linkStyle counts links in the order written: the start marker's link is 0.
        missed = [
            str(position + 1)
            for position, edge in enumerate(all_edges)
            if (edge.source, edge.wire) not in counts
        ]
        if missed:
            yield (
                f"    linkStyle {','.join(missed)} stroke:{UNTAKEN_COLOR},"
                "stroke-width:2px,stroke-dasharray:5 5,color:" + UNTAKEN_COLOR
            )
        yield f'    legend["{mermaid_text(_legend(all_edges, counts))}"]'
        yield "    classDef legendNote fill:#fff,stroke:#999,stroke-dasharray:3 3"
        yield "    class legend legendNote"


# -- DOT ------------------------------------------------------------------------------------


def dot_text(text: str) -> str:
    """Text for inside a double-quoted DOT string: backslashes and quotes escaped, so no
    label can end the string or use DOT's own escapes (\\n, \\l, \\N, ...)."""
    return _plain(text).replace("\\", "\\\\").replace('"', '\\"')


def _dot(flow: Flow, counts: dict[tuple[str, str], int] | None) -> Iterator[str]:
    names = {node_id: f"n{position}" for position, node_id in enumerate(flow.nodes)}
    yield f'digraph "{dot_text(flow.id)}" {{'
    yield "    rankdir=TB;"
    yield '    graph [fontname="Helvetica", fontsize=10];'
    yield '    node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];'
    yield '    edge [fontname="Helvetica", fontsize=10];'
    yield (
        '    start [shape=circle, style=filled, fillcolor="#333333", fontcolor=white, '
        'label="start"];'
    )
    for node in flow.nodes.values():
        first, second = (dot_text(line) for line in _node_lines(node))
        extra = (
            ', style="rounded,filled", fillcolor="#eeeeee", peripheries=2'
            if _terminal(node)
            else ""
        )
        yield f'    {names[node.id]} [label="{first}\\n{second}"{extra}];'
    yield f"    start -> {names[flow.start_node_id]};"
    all_edges = edges(flow)
    for edge in all_edges:
        style = ""
        if counts is not None and (edge.source, edge.wire) not in counts:
            style = f', style=dashed, color="{UNTAKEN_COLOR}", fontcolor="{UNTAKEN_COLOR}"'
        label = dot_text(_edge_text(edge, counts))
        yield f'    {names[edge.source]} -> {names[edge.target]} [label="{label}"{style}];'
    if counts is not None:
        yield f'    label="{dot_text(_legend(all_edges, counts))}";'
        yield "    labelloc=b;"
    yield "}"

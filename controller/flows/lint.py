"""Lint: what a valid flow may still get wrong, found from its graph without placing a call.

Lint runs on flows that validated (`controller.flows.loader`); an invalid flow is validation's
to report. It does not repeat validation's warnings either (`unhandled-dial-outcome`,
`unset-variable`, `missing-audio`, `missing-clip`, ...): those already cover a dial outcome
with nowhere to go and no `default`, a variable no node sets, and audio files and dictionary
clips that are not under the audio root. Lint adds what needs the routes a call can really take
(`controller.flows.routes`) or a look across nodes: each rule is listed in `LINT_RULES`.

A finding whose proof is a path (a variable read before it is set, a loop with no way out)
carries that path, from the start node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

from controller.flows.dataflow import Step, describe, reads_before_set
from controller.flows.loops import closed_loops
from controller.flows.model import Flow
from controller.flows.problems import Severity, pointer_of
from controller.flows.routes import BRANCH, never_taken
from controller.nodes.base import DEFAULT_OUTPUT, ERROR_OUTPUT

# Every lint code, with what it means (the README's lint table lists the same).
LINT_RULES: dict[str, str] = {
    "read-before-set": "A flow variable read on a path where no node has set it yet.",
    "loop-without-exit": "A loop a call can enter and never leave (outputs it never takes "
    "and conditions that cannot change inside it do not count as ways out).",
    "unreachable-branch": "A dtmf branch no caller can enter (a key that is a terminator).",
    "unreachable-output": "A wired output the node never takes (dtmf onTimeout/onInvalid "
    "with onMaxRetries, onSuccess when every key has a branch, a `default` with every output "
    "wired, onVoicemail without AMD, ...).",
    "unhandled-dial-error": "A dial with a `default` but no onError: onError never falls back "
    "to `default`, so a failed dial ends the call unhandled.",
    "missing-label": "A node without a `label` (the guide: use descriptive labels).",
    "duplicate-label": "Two nodes share a label, so records and pictures cannot tell them apart.",
}
SEVERITIES: dict[str, Severity] = {
    code: Severity.ERROR if code == "loop-without-exit" else Severity.WARNING for code in LINT_RULES
}


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str
    message: str
    file: str = ""
    node: str | None = None
    pointer: str = ""
    line: int | None = None
    path: tuple[str, ...] = ()  # node ids from the start node, when a path shows the finding
    outputs: tuple[str, ...] = ()  # the output taken between each two nodes of `path`

    def as_text(self) -> str:
        where = [self.file or "<flow>"]
        if self.node is not None:
            where.append(self.node)
        if self.pointer:
            where.append(self.pointer)
        text = f"{': '.join(where)}: {self.severity}: {self.message} [{self.code}]"
        if self.path:
            steps = tuple(zip(self.path, (*self.outputs, None), strict=True))
            text += f"; path: {describe(steps)}"
        return text

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["path"], data["outputs"] = list(self.path), list(self.outputs)
        return data


def lint_flow(flow: Flow, *, file: str = "") -> list[Finding]:
    """Every finding in a valid flow, in the order of its nodes."""
    index = {node_id: position for position, node_id in enumerate(flow.nodes)}
    findings: list[Finding] = []
    for rule in (_labels, _dead_outputs, _dial_errors, _unset_reads, _loops):
        findings.extend(rule(flow, index))
    findings.sort(key=lambda f: (index.get(f.node or "", -1), f.pointer, f.code))
    return [replace(f, file=file) for f in findings]


def _finding(
    code: str,
    message: str,
    node: str,
    pointer: str,
    path: tuple[Step, ...] = (),
) -> Finding:
    return Finding(
        SEVERITIES[code],
        code,
        message,
        node=node,
        pointer=pointer,
        path=tuple(node_id for node_id, _ in path),
        outputs=tuple(wire or "" for _, wire in path[:-1]),
    )


def _node_pointer(index: dict[str, int], node_id: str, *parts: str) -> str:
    return pointer_of("graph", "nodes", index[node_id], *parts)


def _output_pointer(index: dict[str, int], node_id: str, wire: str) -> str:
    if wire.startswith(BRANCH):
        return _node_pointer(index, node_id, "outputs", "branches", wire[len(BRANCH) :])
    return _node_pointer(index, node_id, "outputs", wire)


def _labels(flow: Flow, index: dict[str, int]) -> Iterator[Finding]:
    first: dict[str, str] = {}
    for node in flow.nodes.values():
        label = node.label.strip()
        if not label:
            yield _finding(
                "missing-label",
                f"{node.type} node {node.id!r} has no label: a short description "
                "(e.g. 'Ask for the account number') makes records and pictures readable",
                node.id,
                _node_pointer(index, node.id),
            )
        elif label.casefold() in first:
            yield _finding(
                "duplicate-label",
                f"label {node.label!r} is also the label of node {first[label.casefold()]!r}",
                node.id,
                _node_pointer(index, node.id, "label"),
            )
        else:
            first[label.casefold()] = node.id


def _dead_outputs(flow: Flow, index: dict[str, int]) -> Iterator[Finding]:
    for node in flow.nodes.values():
        for wire, reason in never_taken(node):
            branch = wire.startswith(BRANCH)
            what = f"branch {wire[len(BRANCH) :]!r}" if branch else f"output {wire}"
            yield _finding(
                "unreachable-branch" if branch else "unreachable-output",
                f"{what} is never taken: {reason}",
                node.id,
                _output_pointer(index, node.id, wire),
            )


def _dial_errors(flow: Flow, index: dict[str, int]) -> Iterator[Finding]:
    for node in flow.nodes.values():
        if node.type != "dial" or ERROR_OUTPUT in node.outputs:
            continue
        if DEFAULT_OUTPUT in node.outputs:
            yield _finding(
                "unhandled-dial-error",
                "a dial that fails for any other reason (gateway down, network out of "
                "order, ...) takes onError, which never falls back to default: it ends "
                "the call unhandled; wire onError",
                node.id,
                _node_pointer(index, node.id, "outputs"),
            )


def _unset_reads(flow: Flow, index: dict[str, int]) -> Iterator[Finding]:
    for read in reads_before_set(flow):
        yield _finding(
            "read-before-set",
            f"variable {read.variable!r} is read here but not set on every path that leads "
            "here (it will be empty); this one never sets it",
            read.node,
            _node_pointer(index, read.node, "config") + read.pointer,
            read.path,
        )


def _loops(flow: Flow, index: dict[str, int]) -> Iterator[Finding]:
    for loop in closed_loops(flow):
        names = ", ".join(repr(n) for n in loop.nodes)
        reason = "no output of these nodes leads out of the loop or ends the call"
        if loop.fixed_conditions:
            fixed = loop.fixed_conditions
            reason = (
                f"its only ways out are through condition{'s' if len(fixed) > 1 else ''} "
                + ", ".join(repr(n) for n in fixed)
                + f", which {'decide' if len(fixed) > 1 else 'decides'} the same way every "
                "time round: nothing in the loop changes what it tests"
            )
        if loop.entry is None:
            node, pointer = flow.start_node_id, "/graph/startNodeId"
            how = "the call starts in it"
        else:
            node, wire = loop.entry
            pointer = _output_pointer(index, node, wire or "")
            how = f"output {wire} leads into it"
        yield _finding(
            "loop-without-exit",
            f"loop with no way out: {names} (a call goes round until the step limit stops "
            f"it): {reason}; {how}",
            node,
            pointer,
            loop.path,
        )

"""Where in a flow there is a call to act on.

An outbound flow (one with a dial node) starts with no call: the dial places it. After the
dial, onAnswer and onVoicemail continue on the call; onNoAnswer, onBusy, onRejected and
onError continue without one — only nodes that need no channel (condition, set_variable,
hangup as a result marker, another dial) can do anything there. A node that needs the call
but is reached only without one is an error; reached both ways, a warning.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from controller.flows.problems import Problem, error, warning
from controller.nodes import NODE_TYPES
from controller.nodes.base import DEFAULT_OUTPUT, NodeSpec

CALL, NO_CALL = "call", "no call"
ANSWERED = ("onAnswer", "onVoicemail")


def _edges(spec: NodeSpec, states: set[str]) -> Iterator[tuple[str, set[str]]]:
    """(target, states carried there) for each wired output of `spec` reached in `states`."""
    outputs = {k: v for k, v in spec.outputs.items() if k != "branches"}
    branches = spec.outputs.get("branches") or {}
    if spec.type != "dial":
        for target in [*outputs.values(), *branches.values()]:
            yield target, states
        return
    unwired = set()
    for name in NODE_TYPES["dial"].outputs:
        if name == DEFAULT_OUTPUT:
            continue
        carried = {CALL} if name in ANSWERED else {NO_CALL}
        if name in outputs:
            yield outputs[name], carried
        else:
            unwired |= carried
    if DEFAULT_OUTPUT in outputs and unwired:
        yield outputs[DEFAULT_OUTPUT], unwired


def call_state_problems(specs: list[NodeSpec], start: str) -> Iterator[Problem]:
    by_id = {spec.id: spec for spec in specs}
    if start not in by_id or not any(spec.type == "dial" for spec in specs):
        return  # an inbound flow: the call exists from the start
    reached: dict[str, set[str]] = {start: {NO_CALL}}
    queue = deque([start])
    while queue:
        spec = by_id.get(queue.popleft())
        if spec is None:
            continue
        for target, carried in _edges(spec, reached[spec.id]):
            known = reached.setdefault(target, set())
            if not carried <= known:
                known |= carried
                queue.append(target)
    for spec in specs:
        states = reached.get(spec.id, set())
        if NO_CALL not in states or not NODE_TYPES[spec.type].needs_call(spec.config):
            continue
        if CALL not in states:
            yield error(
                "needs-call",
                f"{spec.type} node {spec.id!r} acts on the call, but it is only reached when "
                "there is none (before the dial, or after a dial that failed)",
                pointer=spec.pointer,
            )
        else:
            yield warning(
                "may-need-call",
                f"{spec.type} node {spec.id!r} acts on the call, but it is also reached when "
                "there is none (after a dial that failed); it will take onError then",
                pointer=spec.pointer,
            )

"""Every way a call can leave a node: the outputs its type really returns, and where each goes.

Validation's graph checks assume any output of a node may be taken. That is safe for finding
broken references, but lint, pictures and coverage need to know which outputs a call can
actually take. From each node type's `run` (tests/flows/test_routes.py keeps this in step
with it):

- dial takes onVoicemail only with `enableAMD`;
- dtmf, after every attempt failed: onMaxRetries when `maxRetries` > 0 and it is wired,
  else onTimeout or onInvalid — so with onMaxRetries in play those two are never taken, and
  with `maxRetries: 0` onMaxRetries never is; onSuccess is never taken when every allowed
  key of a single-digit menu has a branch; onInvalid never when every key is allowed; a
  multi-digit branch containing a terminator key can never be entered (the terminator ends
  the entry and is not part of it). Validation already rejects branches outside
  `allowedDigits`, `minDigits`/`maxDigits` or `pattern`;
- every other node returns its outputs other than `default`.

Where the engine sends an output is `controller.engine.next_node_id`: the wired output, else
`default` (never for onError), else nowhere: the call ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from controller.engine import next_node_id
from controller.flows.model import Flow, Node
from controller.nodes import NODE_TYPES
from controller.nodes.base import DEFAULT_OUTPUT, ERROR_OUTPUT
from controller.nodes.dtmf import DIGITS

BRANCH = "branches."
# dtmf outputs taken when no entry was made: the variable is not set on them.
DTMF_FAILURES = ("onTimeout", "onInvalid", "onMaxRetries")


@dataclass(frozen=True, slots=True)
class Route:
    """One output a node can return, and where the call goes with it."""

    output: str  # as the node returns it: onComplete, branches.1, ...
    wire: str | None  # the flow's output that carries it (itself, or default); None: unwired
    target: str | None  # the next node; None: the call ends here

    @property
    def ends_call(self) -> bool:
        return self.target is None


def wire_of(node: Node, output: str) -> str | None:
    """The output of the flow a returned output travels on, as the engine routes it."""
    if output.startswith(BRANCH):
        if output[len(BRANCH) :] in node.branches:
            return output
    elif output in node.outputs:
        return output
    if output != ERROR_OUTPUT and DEFAULT_OUTPUT in node.outputs:
        return DEFAULT_OUTPUT
    return None


def routes(node: Node) -> list[Route]:
    return [
        Route(output, wire_of(node, output), next_node_id(node, output))
        for output in possible_outputs(node)
    ]


def possible_outputs(node: Node) -> list[str]:
    """The outputs a call can take out of `node` (its `run` can return them)."""
    if node.type == "dtmf":
        return _dtmf_outputs(node)
    outputs = [o for o in NODE_TYPES[node.type].outputs if o != DEFAULT_OUTPUT]
    if node.type == "dial" and not node.config["enableAMD"]:
        outputs.remove("onVoicemail")
    return outputs


def unenterable_branch(node: Node, key: str) -> str | None:
    """Why no caller can enter dtmf branch `key`, or None when one can."""
    config = node.config
    if config["mode"] != "multi_digit":
        return None  # single-digit keys outside allowedDigits are validation errors
    stops = sorted({stop for stop in config["multiDigitConfig"]["terminators"] if stop in key})
    if stops:
        return (
            f"{' and '.join(stops)} {'ends' if len(stops) == 1 else 'end'} the entry "
            "(multiDigitConfig.terminators) and is never part of it"
        )
    return None


def _single_digit(node: Node) -> tuple[bool, list[str]]:
    config = node.config
    return config["mode"] == "single_digit", list(config["singleDigitConfig"]["allowedDigits"])


def _dtmf_outputs(node: Node) -> list[str]:
    single, allowed = _single_digit(node)
    outputs = [BRANCH + key for key in node.branches if unenterable_branch(node, key) is None]
    if not (single and set(allowed) <= set(node.branches)):
        outputs.append("onSuccess")
    if node.config["maxRetries"] and "onMaxRetries" in node.outputs:
        outputs.append("onMaxRetries")
    else:
        outputs.append("onTimeout")
        if not (single and set(DIGITS) <= set(allowed)):
            outputs.append("onInvalid")
    outputs.append(ERROR_OUTPUT)
    return outputs


def never_taken(node: Node) -> Iterator[tuple[str, str]]:
    """(wired output, why no call takes it) for each wired output of `node` that is dead.

    Branches come as `branches.<key>`. A `default` is dead when every output the node can
    take is wired itself."""
    for key in node.branches:
        reason = unenterable_branch(node, key)
        if reason is not None:
            yield BRANCH + key, f"no caller can enter {key!r}: {reason}"
    taken = {route.wire for route in routes(node)}
    for name in node.outputs:
        if name not in taken:
            yield name, _why_not(node, name)


def _why_not(node: Node, name: str) -> str:
    config = node.config
    if name == DEFAULT_OUTPUT:
        return "every output this node can take is wired, so default is never used"
    if node.type == "dial" and name == "onVoicemail":
        return "dial takes onVoicemail only when enableAMD is true"
    if node.type == "dtmf":
        single, allowed = _single_digit(node)
        shadowed = config["maxRetries"] and "onMaxRetries" in node.outputs
        if name in ("onTimeout", "onInvalid") and shadowed:
            return (
                f"with maxRetries {config['maxRetries']} and onMaxRetries wired, a caller "
                "who never gives a valid entry takes onMaxRetries"
            )
        if name == "onMaxRetries":
            return "onMaxRetries is taken only when maxRetries is above 0"
        if name == "onSuccess" and single:
            return "every allowed key has its own branch"
        if name == "onInvalid" and single and set(DIGITS) <= set(allowed):
            return "every key is allowed, so no entry is invalid"
    return f"{node.type} nodes never take it here"


def reachable(flow: Flow) -> list[str]:
    """Node ids a call can reach from the start node along routes it can take, in BFS order."""
    order, seen = [flow.start_node_id], {flow.start_node_id}
    for node_id in order:
        for route in routes(flow.nodes[node_id]):
            if route.target is not None and route.target not in seen:
                seen.add(route.target)
                order.append(route.target)
    return order

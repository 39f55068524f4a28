"""What a scenario expects of its call (`expect:`), read and checked against the flow.

Node ids must be the flow's; an output must be one its node type has (or one of its dtmf
node's branches, `branches.<key>`). What each key means when compared: compare.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.flows.model import Flow
from controller.nodes import NODE_TYPES
from controller.scenarios.reader import Reader, suggest

EXPECT_KEYS = ("path", "outputs", "variables", "result", "hangupCause", "commands")


@dataclass(frozen=True, slots=True)
class Expectation:
    path: tuple[str, ...] | None = None
    outputs: tuple[tuple[str, str], ...] | None = None
    variables: dict[str, Any] | None = None
    result: str | None = None
    hangup_cause: str | None = None
    commands: tuple[str, ...] | None = None


def parse_expectation(
    reader: Reader, pointer: str, raw: Any, where: str, flow: Flow | None
) -> Expectation:
    at = f"{pointer}/expect"
    if not isinstance(raw, dict) or not raw:
        reader.error(
            at if raw is not None else pointer,
            where,
            f"'expect' is required: any of {', '.join(EXPECT_KEYS)}",
        )
        return Expectation()
    reader.unknown_keys(raw, EXPECT_KEYS, pointer=at, where=f"{where}: expect")
    path = _node_list(reader, at, raw.get("path"), f"{where}: expect.path", flow)
    outputs = _outputs(reader, at, raw.get("outputs"), where, flow)
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        reader.error(f"{at}/variables", f"{where}: expect.variables", "a mapping name: value")
        variables = None
    texts = {}
    for key in ("result", "hangupCause"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            reader.error(f"{at}/{key}", f"{where}: expect.{key}", "text")
            value = None
        texts[key] = value
    commands = raw.get("commands")
    if commands is not None and (
        not isinstance(commands, list) or not all(isinstance(c, str) for c in commands)
    ):
        reader.error(
            f"{at}/commands",
            f"{where}: expect.commands",
            "a list of applications, e.g. [answer, playback, 'play_and_get_digits menu']",
        )
        commands = None
    return Expectation(
        path=path,
        outputs=outputs,
        variables=variables,
        result=texts["result"],
        hangup_cause=texts["hangupCause"],
        commands=tuple(commands) if commands is not None else None,
    )


def _node_list(
    reader: Reader, at: str, raw: Any, where: str, flow: Flow | None
) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        reader.error(f"{at}/path", where, "a list of node ids, in the order they run")
        return None
    for index, node_id in enumerate(raw):
        if not isinstance(node_id, str) or (flow is not None and node_id not in flow.nodes):
            reader.unknown_node(f"{at}/path/{index}", f"{where}[{index}]", node_id, flow)
    return tuple(str(node_id) for node_id in raw)


def _outputs(
    reader: Reader, at: str, raw: Any, where: str, flow: Flow | None
) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    label = f"{where}: expect.outputs"
    if not isinstance(raw, list):
        reader.error(f"{at}/outputs", label, "a list of 'node: output' entries, in order")
        return None
    pairs = []
    for index, item in enumerate(raw):
        item_at = f"{at}/outputs/{index}"
        if not isinstance(item, dict) or len(item) != 1:
            reader.error(item_at, f"{label}[{index}]", "one 'node: output' per entry")
            continue
        [(node_id, output)] = item.items()
        if flow is not None and node_id not in flow.nodes:
            reader.unknown_node(item_at, f"{label}[{index}]", node_id, flow)
            continue
        if flow is not None:
            node = flow.nodes[node_id]
            known = [*NODE_TYPES[node.type].outputs, *(f"branches.{k}" for k in node.branches)]
            if output not in known:
                reader.error(
                    item_at,
                    f"{label}[{index}]",
                    f"{output!r} is not an output of {node_id} ({node.type})"
                    f"{suggest(str(output), known)}; it can take: "
                    f"{', '.join(known) or 'none (it ends the call)'}",
                )
                continue
        pairs.append((str(node_id), str(output)))
    return tuple(pairs)
